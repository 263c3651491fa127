import { S3_QUIRKS, s3Client, uniqueName } from '@pronielts/test-services';
import { describe, expect, inject, it } from 'vitest';
import { StageError } from '../src/errors.ts';
import { MinioStore } from '../src/storage/index.ts';
import { byteStream, objectStoreContract } from './contracts/object-store.contract.ts';

const services = inject('services');

function storeFor(name: string, opts: { partSize?: number; maxParts?: number } = {}): MinioStore {
  const ep = services.s3.find((s) => s.name === name);
  if (!ep) throw new Error(`no ${name} endpoint`);
  return new MinioStore(
    {
      kind: 's3',
      endPoint: ep.endPoint,
      port: ep.port,
      useSSL: false,
      accessKey: ep.accessKey,
      secretKey: ep.secretKey,
      region: 'us-east-1',
      // A fresh prefix per suite: buckets of parallel test files never meet.
      bucketPrefix: `${uniqueName()}-`,
      idleTimeoutMs: 30_000,
    },
    opts,
  );
}

it('runs against MinIO and at least one other S3 implementation without known quirks', () => {
  // MinIO's community edition is archived: the storage layer must keep working on other S3 servers.
  const names = services.s3.map((s) => s.name);
  expect(names.length).toBeGreaterThanOrEqual(2);
  expect(names.some((n) => n !== 'minio' && S3_QUIRKS[n].length === 0)).toBe(true);
});

for (const ep of services.s3) {
  objectStoreContract(`${ep.name} (${ep.description})`, async () => storeFor(ep.name));

  describe(`multipart uploads on ${ep.name}`, () => {
    it.skipIf(S3_QUIRKS[ep.name].includes('multipart-complete-response'))(
      'round-trips an object larger than one part',
      async () => {
        const store = storeFor(ep.name, { partSize: 5 * 1024 * 1024 });
        await store.ensureBuckets();
        const size = 12 * 1024 * 1024;
        const res = await store.put('raw', 'mp/big.bin', byteStream(size), { size });
        expect(res.size).toBe(size);
        expect((await store.stat('raw', 'mp/big.bin'))?.size).toBe(size);
      },
    );

    it.skipIf(S3_QUIRKS[ep.name].includes('multipart-complete-response'))(
      'streams a body of unknown length larger than one part in parts, with the right size and sha256',
      async () => {
        const store = storeFor(ep.name, { partSize: 5 * 1024 * 1024 });
        await store.ensureBuckets();
        const size = 13 * 1024 * 1024 + 17;
        const known = await store.put('raw', 'mp/known.bin', byteStream(size), { size });
        const res = await store.put('raw', 'mp/unknown-big.bin', byteStream(size));
        expect(res).toMatchObject({ size, sha256: known.sha256 });
        expect((await store.stat('raw', 'mp/unknown-big.bin'))?.size).toBe(size);
      },
    );

    it('refuses a body longer than its given size after some parts, leaving no object and no upload', async () => {
      const store = storeFor(ep.name, { partSize: 5 * 1024 * 1024 });
      await store.ensureBuckets();
      const size = 11 * 1024 * 1024;
      await expect(store.put('raw', 'mp/long.bin', byteStream(size + 1), { size })).rejects.toThrow(
        `source gave ${size + 1} bytes, expected ${size}`,
      );
      expect(await store.stat('raw', 'mp/long.bin')).toBeNull();
      expect(await store.incompleteUploads('raw', 'mp/long.bin')).toEqual([]);
    });

    it.skipIf(S3_QUIRKS[ep.name].includes('multipart-complete-response'))(
      'gives a body of known size parts large enough to fit the part limit',
      async () => {
        const store = storeFor(ep.name, { partSize: 5 * 1024 * 1024, maxParts: 2 });
        await store.ensureBuckets();
        const size = 13 * 1024 * 1024;
        const res = await store.put('raw', 'mp/fits.bin', byteStream(size), { size });
        expect(res.size).toBe(size);
        expect((await store.stat('raw', 'mp/fits.bin'))?.size).toBe(size);
      },
    );

    // MinIO cannot list uploads under a prefix, so it cannot be swept (it expires stale uploads itself).
    it.skipIf(S3_QUIRKS[ep.name].includes('list-uploads-exact-key-only'))(
      'aborts incomplete uploads older than the expiry, and keeps younger ones',
      async () => {
        const store = storeFor(ep.name);
        await store.ensureBuckets();
        const client = s3Client(ep);
        // What a process killed mid-upload leaves behind.
        await client.initiateNewMultipartUpload(store.bucketName('raw'), 'orphan/left.bin', {});
        expect(await store.incompleteUploads('raw', 'orphan/left.bin')).toEqual(['orphan/left.bin']);
        if (!S3_QUIRKS[ep.name].includes('upload-initiated-constant')) {
          expect((await store.expireIncompleteUploads(1)).aborted).toBe(0); // younger than a day
          expect(await store.incompleteUploads('raw', 'orphan/left.bin')).toEqual(['orphan/left.bin']);
        }
        expect((await store.expireIncompleteUploads(0)).aborted).toBe(1);
        expect(await store.incompleteUploads('raw', 'orphan/left.bin')).toEqual([]);
      },
    );

    it('refuses a body of unknown length over the part limit, leaving no object and no upload', async () => {
      const store = storeFor(ep.name, { partSize: 5 * 1024 * 1024, maxParts: 2 });
      await store.ensureBuckets();
      const err = await store
        .put('raw', 'mp/too-many-parts.bin', byteStream(13 * 1024 * 1024))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageError);
      expect((err as StageError).code).toBe('input_invalid');
      expect((err as StageError).message).toContain('over 2 parts of 5242880 bytes; give its size');
      expect(await store.stat('raw', 'mp/too-many-parts.bin')).toBeNull();
      expect(await store.incompleteUploads('raw', 'mp/too-many-parts.bin')).toEqual([]);
    });

    it('leaves nothing behind when a body of unknown length dies after some parts', async () => {
      const store = storeFor(ep.name, { partSize: 5 * 1024 * 1024 });
      await store.ensureBuckets();
      await expect(
        store.put('raw', 'mp/broken-unknown.bin', byteStream(16 * 1024 * 1024, 11 * 1024 * 1024)),
      ).rejects.toThrow(/source died/);
      expect(await store.stat('raw', 'mp/broken-unknown.bin')).toBeNull();
      expect(await store.incompleteUploads('raw', 'mp/broken-unknown.bin')).toEqual([]);
    });

    it('leaves neither an object nor an incomplete upload when the source dies after some parts', async () => {
      const store = storeFor(ep.name, { partSize: 5 * 1024 * 1024 });
      await store.ensureBuckets();
      const size = 16 * 1024 * 1024;
      await expect(
        store.put('raw', 'mp/broken.bin', byteStream(size, 11 * 1024 * 1024), { size }),
      ).rejects.toThrow(/source died/);
      expect(await store.stat('raw', 'mp/broken.bin')).toBeNull();
      expect(await store.incompleteUploads('raw', 'mp/broken.bin')).toEqual([]);
    });
  });
}
