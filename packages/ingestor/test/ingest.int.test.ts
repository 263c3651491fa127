import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type CorpusCase, mediaCorpus, speech } from '@pronielts/media-fixtures';
import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { RawMediaManifest } from '@pronielts/shared/contracts';
import type { Db } from '@pronielts/shared/db';
import { createObjectStore, type ObjectStore, readManifest, verifyManifest } from '@pronielts/shared/storage';
import { openMigratedPostgres } from '@pronielts/shared/testing';
import { createTestDatabase, s3Client, s3Env, spawnStage, uniqueName } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The ingestor CLI, end to end: real ffmpeg on generated media, a real HTTP server on loopback, real
// PostgreSQL and a real S3 server. Every case states the reason it must end with.

// The shipped entrypoint (the image's ENTRYPOINT, the runner's file), built before the integration tests.
const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const services = inject('services');
const s3 = services.s3[0];
if (!s3) throw new Error('no S3 server');

let dir: string;
let corpus: CorpusCase[];
let server: http.Server;
let base: string;
const hits: string[] = [];
let db: Db;
let dropDb: () => Promise<void>;
let dbUrl: string;
let env: Record<string, string>;
let store: ObjectStore;
const inbox = uniqueName('inbox-');

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-corpus-'));
  corpus = await mediaCorpus(dir);
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const file = path.join(dir, path.basename(req.url ?? ''));
    if (req.url === '/slow.wav') {
      res.writeHead(200, { 'content-length': '100000' });
      res.write('RIFF');
      return; // stalls: the read timeout must fire
    }
    if (!fs.existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;

  ({ url: dbUrl, drop: dropDb } = await createTestDatabase(services));
  db = await openMigratedPostgres(dbUrl, 2);
  env = {
    ...s3Env(s3),
    DATABASE_URL: dbUrl,
    INGEST_DOWNLOAD_DIR: path.join(dir, 'downloads'),
    INGEST_ALLOWED_CIDRS: '127.0.0.1/32',
    INGEST_LOCAL_ROOTS: dir,
    INGEST_MAX_DURATION_S: '30',
    INGEST_READ_TIMEOUT_MS: '1000',
  };
  store = createObjectStore(storageConfigFrom(sharedEnv.parse(env)));
  // An "inbox" bucket on the same server for s3:// sources.
  const client = s3Client(s3);
  await client.makeBucket(inbox, 'us-east-1');
  await client.fPutObject(inbox, 'uploads/speech48k.flac', path.join(dir, 'speech48k.flac'));
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await db?.destroy();
  await dropDb?.();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function rawObjects(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('raw', '')) keys.push(o.key);
  return keys;
}

async function runInputs(runId: string) {
  return db.selectFrom('run_media').selectAll().where('run_id', '=', runId).orderBy('source_uri').execute();
}

/** Every object in the raw bucket belongs to a published prefix whose manifest lists exactly it. */
async function expectOnlyCompletePrefixes(): Promise<string[]> {
  const keys = await rawObjects();
  const prefixes = [...new Set(keys.map((k) => k.split('/')[0] ?? ''))];
  for (const prefix of prefixes) {
    const m = await readManifest(store, 'raw', prefix, RawMediaManifest);
    expect(m, `prefix ${prefix} has no manifest`).not.toBeNull();
    if (!m) continue;
    expect(keys.filter((k) => k.startsWith(`${prefix}/`)).sort()).toEqual(
      [...m.files.map((f) => f.key), `${prefix}/manifest.json`].sort(),
    );
    expect(await verifyManifest(store, 'raw', m)).toEqual([]);
  }
  return prefixes;
}

describe('ingestor on the media corpus', () => {
  it('accepts good media (http and local), rejects each bad case with its reason, and leaves nothing partial', async () => {
    const http = (c: CorpusCase) => `${base}/${path.basename(c.file)}`;
    const hostile = [
      { src: 'http://169.254.169.254/latest/meta-data/iam', expect: 'refused_address' },
      { src: 'http://10.0.0.1/talk.mp3', expect: 'refused_address' },
      { src: `http://[::1]:${new URL(base).port}/speech.wav`, expect: 'refused_address' },
      { src: `http://[::ffff:127.0.0.2]:${new URL(base).port}/speech.wav`, expect: 'refused_address' },
      { src: 'ftp://example.org/talk.mp3', expect: 'refused_scheme' },
      { src: 'file:///etc/passwd', expect: 'refused_path' },
      { src: '/etc/hostname', expect: 'refused_path' },
      { src: path.join(dir, 'link-out.wav'), expect: 'refused_path' }, // a symlink inside, to /etc/hostname
      { src: `${base}/no-such-file.mp3`, expect: 'not_found' },
      { src: `${base}/slow.wav`, expect: 'unreachable' },
      { src: 'http://127.0.0.1:1/closed-port.wav', expect: 'unreachable' },
      { src: `s3://${inbox}/uploads/missing.wav`, expect: 'not_found' },
      { src: path.join(dir, 'does-not-exist.wav'), expect: 'not_found' },
    ];
    const sources = [
      ...corpus.map((c) => ({ src: http(c), expect: c.expect })),
      { src: path.join(dir, 'speech.wav'), expect: null }, // same bytes as the http speech.wav
      { src: `s3://${inbox}/uploads/speech48k.flac`, expect: null }, // same bytes as the http flac
      ...hostile,
    ];
    expect(sources.filter((s) => s.expect !== null).length).toBeGreaterThanOrEqual(15 + 10);
    fs.symlinkSync('/etc/hostname', path.join(dir, 'link-out.wav'));

    const p = spawnStage(
      CLI,
      ['--run-id', 'corpus-1', '--sources-json', JSON.stringify(sources.map((s) => s.src))],
      env,
    );
    expect(await p.exit, p.lines.slice(-5).join('\n')).toBe(0);

    const rows = await runInputs('corpus-1');
    expect(rows).toHaveLength(sources.length);
    for (const s of sources) {
      const display = s.src.startsWith('http') ? new URL(s.src).origin + new URL(s.src).pathname : s.src;
      const row = rows.find(
        (r) => r.source_uri === display || r.source_uri === s.src.replace(/^file:\/\//, ''),
      );
      expect(row, `no row for ${s.src}`).toBeDefined();
      expect([s.src, row?.status, row?.reject_reason]).toEqual([
        s.src,
        s.expect === null ? 'accepted' : 'rejected',
        s.expect,
      ]);
      if (row?.status === 'rejected') expect(row.reject_detail?.length).toBeGreaterThan(3);
    }

    // Content-addressed: the two duplicate inputs share media rows with their http twins.
    const accepted = rows.filter((r) => r.status === 'accepted');
    const mediaIds = new Set(accepted.map((r) => r.media_id));
    expect(accepted).toHaveLength(corpus.filter((c) => c.expect === null).length + 2);
    expect(mediaIds.size).toBe(corpus.filter((c) => c.expect === null).length);
    const media = await db.selectFrom('media').selectAll().where('status', '=', 'ready').execute();
    expect(new Set(media.map((m) => m.id))).toEqual(mediaIds);
    for (const m of media) {
      expect(m.duration_ms).toBeGreaterThan(1000);
      expect(m.audio_key).toBe(`${m.id}/audio.wav`);
    }
    expect(media.find((m) => m.media_type === 'video')).toBeDefined();

    // Storage: one complete prefix per accepted media item, nothing else.
    const prefixes = await expectOnlyCompletePrefixes();
    expect(new Set(prefixes)).toEqual(mediaIds);

    // Refused addresses were never contacted; the loopback server saw only allowed requests.
    expect(hits.some((h) => h.includes('meta-data'))).toBe(false);

    const summary = p.summary();
    expect(summary.counts).toEqual({
      in: sources.length,
      out: accepted.length,
      rejected: rows.length - accepted.length,
      skipped: 0,
    });
    expect(summary.mediaIds).toHaveLength(mediaIds.size);
  });

  it('stores normalised audio as 16 kHz mono 16-bit PCM WAV', async () => {
    const media = await db
      .selectFrom('media')
      .select(['id', 'audio_key'])
      .where('status', '=', 'ready')
      .execute();
    const first = media[0];
    if (!first?.audio_key) throw new Error('no media');
    const wav = path.join(dir, 'check.wav');
    await new Promise<void>((resolve, reject) =>
      store
        .get('raw', first.audio_key ?? '')
        .then((s) => s.pipe(fs.createWriteStream(wav)).on('finish', resolve).on('error', reject)),
    );
    const head = fs.readFileSync(wav).subarray(0, 44);
    expect(head.toString('latin1', 0, 4)).toBe('RIFF');
    expect(head.readUInt16LE(20)).toBe(1); // PCM
    expect(head.readUInt16LE(22)).toBe(1); // mono
    expect(head.readUInt32LE(24)).toBe(16000);
    expect(head.readUInt16LE(34)).toBe(16); // bits per sample
  });

  it('re-running the same run changes nothing', async () => {
    const before = { objects: (await rawObjects()).sort(), rows: await runInputs('corpus-1') };
    const mediaCount = (await db.selectFrom('media').select('id').execute()).length;
    const sources = before.rows.filter((r) => r.status === 'accepted').map((r) => r.source_uri);
    const p = spawnStage(CLI, ['--run-id', 'corpus-1', '--sources-json', JSON.stringify(sources)], env);
    expect(await p.exit).toBe(0);
    expect(p.summary().counts).toMatchObject({ out: 0, skipped: sources.length });
    expect((await rawObjects()).sort()).toEqual(before.objects);
    expect(await runInputs('corpus-1')).toEqual(before.rows);
    expect((await db.selectFrom('media').select('id').execute()).length).toBe(mediaCount);
  });

  it('refuses loopback sources unless an address range is explicitly allowed', async () => {
    const before = hits.length;
    const { INGEST_ALLOWED_CIDRS: _allowed, ...closed } = env;
    const p = spawnStage(CLI, ['--run-id', 'closed-1', '--source', `${base}/speech.wav`], closed);
    expect(await p.exit).toBe(0);
    const [row] = await runInputs('closed-1');
    expect([row?.status, row?.reject_reason]).toEqual(['rejected', 'refused_address']);
    expect(hits.length).toBe(before);
  });
});

describe('ingestor killed mid-run', () => {
  it('finishes the work exactly once when run again', async () => {
    const kdir = path.join(dir, 'kill');
    fs.mkdirSync(kdir);
    const files: string[] = [];
    for (let i = 0; i < 6; i++) {
      files.push(
        await speech(path.join(kdir, `answer-${i}.wav`), `This is answer number ${i} about my home town.`),
      );
    }
    const args = ['--run-id', 'kill-1', '--sources-json', JSON.stringify(files)];
    const first = spawnStage(CLI, args, { ...env, INGEST_CONCURRENCY: '1' });
    await first.waitForLine((l) => l.msg === 'media published');
    first.child.kill('SIGKILL');
    await first.exit;

    const second = spawnStage(CLI, args, env);
    expect(await second.exit).toBe(0);
    const rows = await runInputs('kill-1');
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.status === 'accepted')).toBe(true);
    const counts = second.summary().counts;
    expect((counts?.out ?? 0) + (counts?.skipped ?? 0)).toBe(6);
    expect(counts?.skipped).toBeGreaterThanOrEqual(0);
    await expectOnlyCompletePrefixes();
    // Exactly one media row per distinct file.
    const ids = new Set(rows.map((r) => r.media_id));
    expect(ids.size).toBe(6);
  });
});

describe('ingestor on the embedded defaults (no servers)', () => {
  it('ingests into PGlite and a local folder, and a re-run skips everything', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-embedded-'));
    const sample = await speech(path.join(home, 'sample.wav'), 'Let me tell you about my favourite teacher.');
    const local = {
      PRONIELTS_DATA_DIR: path.join(home, '.pronielts'),
      INGEST_DOWNLOAD_DIR: path.join(home, 'dl'),
    };
    const first = spawnStage(CLI, ['--run-id', 'embedded-1', '--source', sample], local, { cwd: home });
    expect(await first.exit, first.lines.slice(-3).join('\n')).toBe(0);
    expect(first.summary().counts).toMatchObject({ in: 1, out: 1, rejected: 0 });
    const [id] = first.summary().mediaIds as string[];
    expect(
      fs.existsSync(path.join(home, '.pronielts/objects/pronielts-raw', id ?? '-', 'manifest.json')),
    ).toBe(true);
    const again = spawnStage(CLI, ['--run-id', 'embedded-1', '--source', sample], local, { cwd: home });
    expect(await again.exit).toBe(0);
    expect(again.summary().counts).toMatchObject({ out: 0, skipped: 1 });
    fs.rmSync(home, { recursive: true, force: true });
  });
});
