import path from 'node:path';
import { s3Client, s3Env, spawnStage, uniqueName } from '@pronielts/test-services';
import { describe, expect, inject, it } from 'vitest';

const CLI = path.resolve(import.meta.dirname, '../dist/storage/buckets-cli.js');
const services = inject('services');
const SEED_BUCKETS = ['pronielts-raw', 'pronielts-transcriptions', 'pronielts-processed'];

describe('pronielts-buckets against real S3 servers', () => {
  for (const ep of services.s3) {
    it(`creates the three buckets on ${ep.name}; a second run is a no-op`, async () => {
      const prefix = `${uniqueName()}-`;
      const env = s3Env(ep, prefix);
      const client = s3Client(ep);
      for (const b of SEED_BUCKETS) expect(await client.bucketExists(prefix + b)).toBe(false);

      const first = spawnStage(CLI, ['ensure'], env);
      expect(await first.exit).toBe(0);
      expect(first.json().find((l) => l.msg === 'buckets ready')).toMatchObject({
        buckets: SEED_BUCKETS.map((b) => prefix + b),
      });
      // Incomplete uploads expire: a lifecycle rule where the server takes one. MinIO refuses the
      // action (it expires stale uploads itself) and versitygw has no lifecycle; moto takes it.
      const expiry = first.json().at(-1) as { rule: Record<string, string>; aborted: number };
      const expected = ep.name === 'moto' ? 'set' : 'unsupported';
      expect(expiry.rule).toEqual(Object.fromEntries(SEED_BUCKETS.map((b) => [prefix + b, expected])));
      expect(expiry.aborted).toBe(0);
      if (expected === 'set') {
        for (const b of SEED_BUCKETS) {
          const lc = (await client.getBucketLifecycle(prefix + b)) as { Rule: unknown };
          expect([lc.Rule].flat()).toContainEqual(
            expect.objectContaining({
              ID: 'pronielts-abort-incomplete-uploads',
              Status: 'Enabled',
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            }),
          );
        }
      }
      for (const b of SEED_BUCKETS) expect(await client.bucketExists(prefix + b)).toBe(true);

      await client.putObject(prefix + SEED_BUCKETS[0], 'keep.txt', Buffer.from('x'));
      const second = spawnStage(CLI, [], env);
      expect(await second.exit).toBe(0);
      // Existing buckets and their objects are left alone.
      expect((await client.statObject(prefix + SEED_BUCKETS[0], 'keep.txt')).size).toBe(1);
      await client.removeObject(prefix + SEED_BUCKETS[0], 'keep.txt');
      for (const b of SEED_BUCKETS) await client.removeBucket(prefix + b);
    });
  }

  it('with --wait, keeps retrying an unreachable server until the deadline, then exits 75 without the secret', async () => {
    const env = {
      MINIO_ENDPOINT: '127.0.0.1:1',
      MINIO_ACCESS_KEY: 'user-x',
      MINIO_SECRET_KEY: 's3cr3t-value-x',
    };
    const started = Date.now();
    const p = spawnStage(CLI, ['--wait', '3'], env);
    expect(await p.exit).toBe(75);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    expect(p.json().filter((l) => l.msg === 'storage not ready, retrying').length).toBeGreaterThanOrEqual(2);
    expect(p.lines.join('\n')).not.toContain('s3cr3t-value-x');
  });

  it('exits 2 on a missing secret key or an unknown command', async () => {
    expect(await spawnStage(CLI, [], { MINIO_ENDPOINT: '127.0.0.1:1', MINIO_ACCESS_KEY: 'u' }).exit).toBe(2);
    expect(await spawnStage(CLI, ['sideways'], {}).exit).toBe(2);
  });
});
