import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { speech } from '@pronielts/media-fixtures';
import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { createObjectStore, readManifest, verifyManifest } from '@pronielts/shared/storage';
import { openMigratedPostgres, seedReadyMedia } from '@pronielts/shared/testing';
import { crashTrials, createTestDatabase, requireFile, s3Env, spawnStage } from '@pronielts/test-services';
import { writeTinyWhisperModel } from '@pronielts/whisper-fixtures';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// Crash injection (tooling/test-services crashTrials): the shipped transcriber is SIGKILLed at random
// points while it transcribes three files (real whisper.cpp, the tiny random-weight model), then run again.

const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const WHISPER_CLI = requireFile('whisper-cli', 'WHISPER_CLI', 'scripts/build-whisper builds it');
const haveWhisper = WHISPER_CLI !== undefined;
const services = inject('services');
const s3 = services.s3[0];
if (!s3) throw new Error('no S3 server');

let dir: string;
const wavs: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transcribe-crash-'));
  await writeTinyWhisperModel(path.join(dir, 'models', 'ggml-tiny-random.bin'));
  for (let i = 0; i < 3; i++) {
    wavs.push(
      await speech(path.join(dir, `a${i}.wav`), `Question ${i}: where do you live? I live near the sea.`, {
        sampleRate: 16000,
      }),
    );
  }
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveWhisper)('transcriber crash injection', () => {
  it('transcribes every media exactly once, with nothing partial visible, after a kill at a random point and a re-run', async () => {
    const report = await crashTrials({
      world: async () => {
        const t = await createTestDatabase(services);
        const db = await openMigratedPostgres(t.url, 1);
        const env = {
          ...s3Env(s3),
          DATABASE_URL: t.url,
          WHISPER_CLI: WHISPER_CLI ?? '',
          WHISPER_MODEL: 'tiny-random',
          WHISPER_MODEL_DIR: path.join(dir, 'models'),
          WHISPER_BEAM_SIZE: '1',
          WHISPER_NO_FALLBACK: 'true',
          WHISPER_THREADS: '2',
          TRANSCRIBE_WORK_DIR: path.join(dir, `work-${path.basename(t.url)}`),
        };
        const store = createObjectStore(storageConfigFrom(sharedEnv.parse(env)));
        await store.ensureBuckets();
        const ids: string[] = [];
        for (const wav of wavs) ids.push(await seedReadyMedia(db, store, 'crash', fs.readFileSync(wav), wav));
        /** Every transcript row points at a complete, verified publication, with all its segments. */
        const published = async () => {
          const rows = await db.selectFrom('transcripts').selectAll().execute();
          for (const tr of rows.filter((r) => r.status !== 'rejected')) {
            const manifest = await readManifest(store, 'transcriptions', `${tr.media_id}/tiny-random`);
            expect(manifest, `transcript ${tr.id} without a manifest`).not.toBeNull();
            if (manifest) expect(await verifyManifest(store, 'transcriptions', manifest)).toEqual([]);
            const segs = await db
              .selectFrom('segments')
              .select('id')
              .where('transcript_id', '=', tr.id)
              .execute();
            expect(segs.length).toBe(tr.segment_count);
          }
          return rows;
        };
        return {
          run: () => spawnStage(CLI, ['--run-id', 'crash'], env),
          afterKill: async () => {
            await published();
          },
          verify: async () => {
            const rows = await published();
            expect(rows.map((r) => r.media_id).sort()).toEqual([...ids].sort());
            for (const r of rows) expect(['ok', 'suspect']).toContain(r.status);
            const keys: string[] = [];
            for await (const o of store.list('transcriptions', '')) keys.push(o.key);
            expect(new Set(keys.map((k) => k.split('/')[0])).size).toBe(ids.length);
          },
          teardown: async () => {
            await db.destroy();
            await t.drop();
          },
        };
      },
    });
    process.stderr.write(
      `transcribe crash trials (seed ${report.seed}): ${JSON.stringify(report.outcomes)}\n`,
    );
    expect(report.outcomes.some((o) => o.killed)).toBe(true);
  }, 600_000);
});
