import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { speech } from '@pronielts/media-fixtures';
import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { TranscriptDocument } from '@pronielts/shared/contracts';
import { type Db, listSegments } from '@pronielts/shared/db';
import { createObjectStore, getJson, type ObjectStore, readManifest } from '@pronielts/shared/storage';
import { openMigratedPostgres, seedReadyMedia } from '@pronielts/shared/testing';
import { createTestDatabase, requireFile, s3Env, spawnStage, wordErrorRate } from '@pronielts/test-services';
import { writeTinyWhisperModel } from '@pronielts/whisper-fixtures';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// Real whisper.cpp (whisper-cli built by scripts/build-whisper) with a generated random-weight model:
// the words are meaningless, but loading, inference, timestamps, our parsing and persistence are real.

// The shipped entrypoint (the image's ENTRYPOINT, the runner's file), built before the integration tests.
const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const WHISPER_CLI = requireFile('whisper-cli', 'WHISPER_CLI', 'scripts/build-whisper builds it');
const haveWhisper = WHISPER_CLI !== undefined;
const services = inject('services');
const s3 = services.s3[0];
if (!s3) throw new Error('no S3 server');

let dir: string;
let modelDir: string;
let db: Db;
let dropDb: () => Promise<void>;
let env: Record<string, string>;
let store: ObjectStore;

/** Puts a WAV into the raw bucket and the DB exactly as the ingestor's contract says (no ingestor import). */
const seedMedia = (runId: string, wav: string) => seedReadyMedia(db, store, runId, fs.readFileSync(wav), wav);

async function speechWav(name: string, text: string): Promise<string> {
  const out = path.join(dir, `${name}.wav`);
  await speech(out, text, { sampleRate: 16000 });
  return out;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transcribe-'));
  modelDir = path.join(dir, 'models');
  await writeTinyWhisperModel(path.join(modelDir, 'ggml-tiny-random.bin'));
  const t = await createTestDatabase(services);
  dropDb = t.drop;
  db = await openMigratedPostgres(t.url, 2);
  env = {
    ...s3Env(s3),
    DATABASE_URL: t.url,
    WHISPER_CLI: WHISPER_CLI ?? '',
    WHISPER_MODEL: 'tiny-random',
    WHISPER_MODEL_DIR: modelDir,
    WHISPER_BEAM_SIZE: '1',
    WHISPER_NO_FALLBACK: 'true',
    WHISPER_THREADS: '2',
    TRANSCRIBE_WORK_DIR: path.join(dir, 'work'),
  };
  store = createObjectStore(storageConfigFrom(sharedEnv.parse(env)));
  await store.ensureBuckets();
});

afterAll(async () => {
  await db?.destroy();
  await dropDb?.();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveWhisper)('transcriber with real whisper.cpp', () => {
  it('transcribes every ready media item of the run, one whisper-cli process per file, and stores transcripts and segments', async () => {
    const ids = [
      await seedMedia(
        'tr-1',
        await speechWav('a', 'What do you usually do at the weekend? I usually visit my grandparents.'),
      ),
      await seedMedia(
        'tr-1',
        await speechWav('b', 'Describe a book you read recently. I read a novel about a family in Lisbon.'),
      ),
    ];
    const p = spawnStage(CLI, ['--run-id', 'tr-1'], env);
    expect(await p.exit, p.lines.slice(-5).join('\n')).toBe(0);
    expect(p.json().filter((l) => l.msg === 'whisper-cli finished')).toHaveLength(2);
    const summary = p.summary();
    expect(summary.counts).toEqual({ in: 2, out: 2, rejected: 0, skipped: 0 });

    for (const id of ids) {
      const tr = await db
        .selectFrom('transcripts')
        .selectAll()
        .where('media_id', '=', id)
        .executeTakeFirstOrThrow();
      expect(tr).toMatchObject({ model: 'tiny-random', language: 'en' });
      expect(['ok', 'suspect']).toContain(tr.status);
      expect(tr.processing_ms).toBeGreaterThanOrEqual(0);
      const doc = await getJson(
        store,
        'transcriptions',
        `${id}/tiny-random/transcript.json`,
        TranscriptDocument,
      );
      expect(doc.segments.length).toBeGreaterThan(0);
      for (const s of doc.segments) {
        expect(s.endMs).toBeGreaterThanOrEqual(s.startMs);
        expect(s.endMs).toBeLessThanOrEqual(doc.durationMs);
      }
      expect(doc.segments.some((s) => (s.words?.length ?? 0) > 0)).toBe(true);
      expect(await readManifest(store, 'transcriptions', `${id}/tiny-random`)).not.toBeNull();
      const segs = await listSegments(db, tr.id);
      expect(segs.length).toBe(tr.segment_count);
      for (const s of segs) expect(['question', 'answer']).toContain(s.turn);
    }
    expect(fs.readdirSync(path.join(dir, 'work'))).toEqual([]); // scratch cleaned
  });

  it('gives a media the same transcript alone as inside a batch (beam search and temperature fallback on)', async () => {
    const settings = { WHISPER_BEAM_SIZE: '5', WHISPER_NO_FALLBACK: 'false' };
    const wavs = [
      await speechWav('det-0', 'Do you work or are you a student? I am a student of engineering.'),
      await speechWav('det-1', 'What do you like about your hometown? The markets and the river.'),
      await speechWav('det-2', 'Do you prefer mornings or evenings? Evenings, because I can relax.'),
    ];
    const batchIds = [];
    for (const wav of wavs) batchIds.push(await seedMedia('tr-det-batch', wav));
    const batch = spawnStage(CLI, ['--run-id', 'tr-det-batch'], { ...env, ...settings });
    expect(await batch.exit, batch.lines.slice(-5).join('\n')).toBe(0);

    // The middle file alone, in a database and buckets of its own.
    const other = await createTestDatabase(services);
    const aloneEnv = { ...env, ...s3Env(s3), DATABASE_URL: other.url, ...settings };
    const aloneDb = await openMigratedPostgres(other.url, 1);
    const aloneStore = createObjectStore(storageConfigFrom(sharedEnv.parse(aloneEnv)));
    try {
      await aloneStore.ensureBuckets();
      const id = await seedReadyMedia(
        aloneDb,
        aloneStore,
        'tr-det-alone',
        fs.readFileSync(wavs[1] ?? ''),
        wavs[1] ?? '',
      );
      expect(id).toBe(batchIds[1]);
      const alone = spawnStage(CLI, ['--run-id', 'tr-det-alone'], aloneEnv);
      expect(await alone.exit, alone.lines.slice(-5).join('\n')).toBe(0);
      const key = `${id}/tiny-random/transcript.json`;
      const inBatch = await getJson(store, 'transcriptions', key, TranscriptDocument);
      const byItself = await getJson(aloneStore, 'transcriptions', key, TranscriptDocument);
      expect(byItself.segments.length).toBeGreaterThan(0);
      expect(byItself.segments).toEqual(inBatch.segments);
    } finally {
      await aloneDb.destroy();
      await other.drop();
    }
  });

  it('re-running the run does nothing and changes nothing', async () => {
    const before = await db.selectFrom('segments').selectAll().orderBy('id').execute();
    const p = spawnStage(CLI, ['--run-id', 'tr-1'], env);
    expect(await p.exit).toBe(0);
    expect(p.summary().counts).toEqual({ in: 2, out: 0, rejected: 0, skipped: 2 });
    expect(p.json().some((l) => l.msg === 'whisper-cli finished')).toBe(false);
    expect(await db.selectFrom('segments').selectAll().orderBy('id').execute()).toEqual(before);
  });

  it('takes an explicit batch of media ids (a mapped task)', async () => {
    const id = await seedMedia('tr-batch', await speechWav('c', 'How often do you cook? Almost every day.'));
    await seedMedia('tr-batch', await speechWav('d', 'Do you like music? Yes, mostly jazz.'));
    const p = spawnStage(CLI, ['--run-id', 'tr-batch', '--media-ids', id], env);
    expect(await p.exit).toBe(0);
    expect(p.summary().counts).toMatchObject({ in: 1, out: 1 });
  });

  it('marks an item whose audio whisper cannot read as rejected, and finishes the others', async () => {
    const good = await seedMedia(
      'tr-bad',
      await speechWav('e', 'What is your favourite season? I love autumn.'),
    );
    const garbage = path.join(dir, 'garbage.wav');
    fs.writeFileSync(garbage, Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4000, 7)]));
    const bad = await seedMedia('tr-bad', garbage);
    const p = spawnStage(CLI, ['--run-id', 'tr-bad'], env);
    expect(await p.exit, p.lines.slice(-5).join('\n')).toBe(0);
    expect(p.summary().counts).toMatchObject({ in: 2, out: 1, rejected: 1 });
    const rows = await db
      .selectFrom('transcripts')
      .select(['media_id', 'status', 'reject_reason', 'segment_count'])
      .where('media_id', 'in', [good, bad])
      .execute();
    expect(rows.find((r) => r.media_id === bad)).toMatchObject({
      status: 'rejected',
      reject_reason: 'whisper_no_output',
      segment_count: 0,
    });
    expect(rows.find((r) => r.media_id === good)?.status).not.toBe('rejected');
  });

  it('flags text over audio without speech energy as suspected hallucination', async () => {
    // Quiet noise: loud enough for the ingestor (peak above -60 dBFS), far below speech.
    const hum = path.join(dir, 'hum.wav');
    execFileSync('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'anoisesrc=color=pink:amplitude=0.003:duration=8:sample_rate=16000',
      '-ac',
      '1',
      '-c:a',
      'pcm_s16le',
      hum,
    ]);
    const id = await seedMedia('tr-hum', hum);
    const p = spawnStage(CLI, ['--run-id', 'tr-hum'], env);
    expect(await p.exit).toBe(0);
    const tr = await db
      .selectFrom('transcripts')
      .selectAll()
      .where('media_id', '=', id)
      .executeTakeFirstOrThrow();
    // The random model always produces text; over this audio all of it must be flagged.
    expect(tr.status).toBe('suspect');
    expect(tr.flags).toContain('text_over_silence');
    expect(tr.flags).toContain('hallucination_suspected');
    expect(tr.segment_count).toBe(0);
  });

  it('killed mid-run, then run again, gives each item exactly one transcript', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        await seedMedia(
          'tr-kill',
          await speechWav(`k${i}`, `Question ${i}. Why do people travel? To see new places, ${i}.`),
        ),
      );
    }
    const first = spawnStage(CLI, ['--run-id', 'tr-kill'], env);
    await first.waitForLine((l) => l.msg === 'transcript saved');
    first.child.kill('SIGKILL');
    await first.exit;
    const second = spawnStage(CLI, ['--run-id', 'tr-kill'], env);
    expect(await second.exit).toBe(0);
    const counts = second.summary().counts;
    expect((counts?.out ?? 0) + (counts?.skipped ?? 0)).toBe(5);
    expect(counts?.skipped).toBeGreaterThanOrEqual(1);
    const rows = await db
      .selectFrom('transcripts')
      .select(['media_id'])
      .where('media_id', 'in', ids)
      .execute();
    expect(rows.map((r) => r.media_id).sort()).toEqual([...ids].sort());
    for (const id of ids)
      expect(await readManifest(store, 'transcriptions', `${id}/tiny-random`)).not.toBeNull();
  });
});

describe('whisper model resolution', () => {
  let server: http.Server;
  let base: string;
  const requests: string[] = [];
  beforeAll(async () => {
    const model = path.join(dir, 'served.bin');
    await writeTinyWhisperModel(model);
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/ggml-tiny.bin') {
        res.writeHead(200, { 'content-length': fs.statSync(model).size });
        return fs.createReadStream(model).pipe(res);
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => new Promise((r) => server.close(r)));

  it('fails with exit 2 naming the model and its path when it is missing and downloads are off — with no network attempt', async () => {
    await seedMedia('tr-nomodel', await speechWav('m', 'Tell me about your family.'));
    const empty = path.join(dir, 'no-models');
    const p = spawnStage(CLI, ['--run-id', 'tr-nomodel'], {
      ...env,
      WHISPER_MODEL: 'medium',
      WHISPER_MODEL_DIR: empty,
      WHISPER_DOWNLOAD_BASE: base,
    });
    expect(await p.exit).toBe(2);
    const msg = p.summary().error?.message ?? '';
    expect(msg).toContain('whisper model "medium"');
    expect(msg).toContain(path.join(empty, 'ggml-medium.bin'));
    expect(msg).toContain('WHISPER_ALLOW_DOWNLOAD=false');
    expect(requests).toEqual([]);
  });

  it.skipIf(!haveWhisper)('downloads a missing model once when allowed, then uses it', async () => {
    await seedMedia('tr-download', await speechWav('n', 'What kind of films do you enjoy?'));
    const target = path.join(dir, 'downloaded');
    const p = spawnStage(CLI, ['--run-id', 'tr-download'], {
      ...env,
      WHISPER_MODEL: 'tiny',
      WHISPER_MODEL_DIR: target,
      WHISPER_ALLOW_DOWNLOAD: 'true',
      WHISPER_DOWNLOAD_BASE: base,
    });
    expect(await p.exit, p.lines.slice(-3).join('\n')).toBe(0);
    expect(requests).toEqual(['/ggml-tiny.bin']);
    expect(fs.readdirSync(target)).toEqual(['ggml-tiny.bin']);
    expect(p.summary().counts).toMatchObject({ out: 1 });
  });
});

// The real multilingual base model (scripts/whisper-base-model makes it at setup from PyPI packages).
const BASE_MODEL = requireFile(
  'whisper base model',
  'WHISPER_BASE_MODEL',
  'scripts/whisper-base-model makes it',
);
const haveBase = haveWhisper && BASE_MODEL !== undefined;
const SAMPLE = path.resolve(import.meta.dirname, '../../../samples/ielts-part1-sample.ogg');
const SAMPLE_TURNS = fs
  .readFileSync(path.resolve(import.meta.dirname, '../../../samples/ielts-part1-sample.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => ({ turn: l.startsWith('examiner:') ? 'question' : 'answer', text: l.replace(/^\w+: /, '') }));

describe.skipIf(!haveBase)('transcriber with the real base model', () => {
  it('transcribes the sample word for word (WER <= 5 %) and finds its question and answer turns', async () => {
    const wav = path.join(dir, 'sample.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', SAMPLE, '-ar', '16000', '-ac', '1', wav]);
    const id = await seedMedia('tr-base', wav);
    const p = spawnStage(CLI, ['--run-id', 'tr-base'], {
      ...env,
      WHISPER_MODEL: 'base',
      WHISPER_MODEL_DIR: path.dirname(BASE_MODEL ?? ''),
      WHISPER_BEAM_SIZE: '5',
      WHISPER_NO_FALLBACK: 'false',
    });
    expect(await p.exit, p.lines.slice(-5).join('\n')).toBe(0);
    const doc = await getJson(store, 'transcriptions', `${id}/base/transcript.json`, TranscriptDocument);
    const said = doc.segments.map((s) => s.text).join(' ');
    const wer = wordErrorRate(SAMPLE_TURNS.map((t) => t.text).join(' '), said);
    expect(wer, said).toBeLessThanOrEqual(0.05);
    const tr = await db
      .selectFrom('transcripts')
      .selectAll()
      .where('media_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(tr).toMatchObject({ model: 'base', language: 'en', status: 'ok' });
    const segs = await listSegments(db, tr.id);
    expect(segs.map((s) => s.turn)).toEqual(SAMPLE_TURNS.map((t) => t.turn));
    for (const [i, s] of segs.entries()) {
      expect(wordErrorRate(SAMPLE_TURNS[i]?.text ?? '', s.text), s.text).toBeLessThanOrEqual(0.1);
    }
  });
});
