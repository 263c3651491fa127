import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { speech } from '@pronielts/media-fixtures';
import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { RawMediaManifest } from '@pronielts/shared/contracts';
import { createObjectStore, type MinioStore, readManifest, verifyManifest } from '@pronielts/shared/storage';
import { openMigratedPostgres } from '@pronielts/shared/testing';
import { crashTrials, createTestDatabase, s3Env, spawnStage } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// Crash injection (tooling/test-services crashTrials): the shipped ingestor is SIGKILLed at random points
// while it ingests five local files, one of them large enough for multipart uploads, then run again.

const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const services = inject('services');
const s3 = services.s3[0];
if (!s3) throw new Error('no S3 server');

let dir: string;
const files: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-crash-'));
  for (let i = 0; i < 4; i++) {
    files.push(
      await speech(path.join(dir, `answer-${i}.wav`), `Answer ${i}: my home town has a busy market.`),
    );
  }
  // 330 s at 16 kHz mono: over one 8 MiB part, so the source and the WAV are multipart uploads.
  const long = path.join(dir, 'long.wav');
  execFileSync('sox', [
    '-n',
    '-r',
    '16000',
    '-c',
    '1',
    '-b',
    '16',
    long,
    'synth',
    '330',
    'pinknoise',
    'vol',
    '0.3',
  ]);
  files.push(long);
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ingestor crash injection', () => {
  let orphans = 0;
  it('ingests every source exactly once, with nothing partial visible, after a kill at a random point and a re-run', async () => {
    const report = await crashTrials({
      world: async () => {
        const t = await createTestDatabase(services);
        const db = await openMigratedPostgres(t.url, 1);
        const env = {
          ...s3Env(s3),
          DATABASE_URL: t.url,
          INGEST_LOCAL_ROOTS: dir,
          INGEST_DOWNLOAD_DIR: path.join(dir, `dl-${path.basename(t.url)}`),
        };
        const store = createObjectStore(storageConfigFrom(sharedEnv.parse(env))) as MinioStore;
        const args = ['--run-id', 'crash', '--sources-json', JSON.stringify(files)];
        /** Every ready media row points at a complete, verified publication. */
        const published = async () => {
          const media = await db.selectFrom('media').selectAll().execute();
          for (const m of media.filter((x) => x.status === 'ready')) {
            const manifest = await readManifest(store, 'raw', m.id, RawMediaManifest);
            expect(manifest, `media ${m.id} is ready without a manifest`).not.toBeNull();
            if (manifest) expect(await verifyManifest(store, 'raw', manifest)).toEqual([]);
          }
          return media;
        };
        return {
          run: () => spawnStage(CLI, args, env),
          afterKill: async () => {
            await store.ensureBuckets();
            await published();
          },
          verify: async () => {
            const inputs = await db
              .selectFrom('run_media')
              .selectAll()
              .where('run_id', '=', 'crash')
              .execute();
            expect(inputs.map((r) => r.status)).toEqual(files.map(() => 'accepted'));
            const media = await published();
            expect(media.map((m) => m.status)).toEqual(files.map(() => 'ready'));
            // Exactly the published objects: nothing left over from the killed attempt, no orphaned upload.
            const keys: string[] = [];
            for await (const o of store.list('raw', '')) keys.push(o.key);
            const expected: string[] = [];
            for (const m of media) {
              const manifest = await readManifest(store, 'raw', m.id, RawMediaManifest);
              expected.push(...(manifest?.files.map((f) => f.key) ?? []), `${m.id}/manifest.json`);
            }
            expect(keys.sort()).toEqual(expected.sort());
            // A kill during a part upload leaves that upload incomplete: invisible to readers, reclaimed
            // by the buckets' expiry (pronielts-buckets; MinIO's own stale-upload expiry). Counted here.
            for (const key of keys) orphans += (await store.incompleteUploads('raw', key)).length;
          },
          teardown: async () => {
            await db.destroy();
            await t.drop();
          },
        };
      },
    });
    process.stderr.write(
      `ingest crash trials (seed ${report.seed}): ${JSON.stringify(report.outcomes)}; incomplete uploads left: ${orphans}\n`,
    );
    expect(report.outcomes.some((o) => o.killed)).toBe(true);
  }, 600_000);
});
