import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StageError } from '../../src/errors.ts';
import {
  MANIFEST_NAME,
  ObjectNotFoundError,
  type ObjectStore,
  publish,
  readManifest,
  sha256Of,
  verifyManifest,
} from '../../src/storage/index.ts';

/** A stream that yields `total` bytes in 64 KiB chunks, failing after `failAfter` bytes if given. */
export function byteStream(total: number, failAfter?: number): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  return new Readable({
    read() {
      if (failAfter !== undefined && sent >= failAfter) {
        this.destroy(new Error('source died mid-stream'));
        return;
      }
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      this.push(chunk.subarray(0, n));
    },
  });
}

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('raw', prefix)) out.push(o.key);
  return out;
}

/**
 * The object-store contract. The same cases run against the folder store (unit tests) and against
 * MinIO and a second S3 implementation (integration tests).
 */
export function objectStoreContract(name: string, makeStore: () => Promise<ObjectStore>) {
  describe(`object store contract: ${name}`, () => {
    let store: ObjectStore;
    beforeAll(async () => {
      store = await makeStore();
      await store.ensureBuckets();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('creates the three seed buckets idempotently', async () => {
      await store.ensureBuckets();
      await store.ensureBuckets();
      expect(store.bucketName('raw')).toMatch(/pronielts-raw$/);
      expect(store.bucketName('transcriptions')).toMatch(/pronielts-transcriptions$/);
      expect(store.bucketName('processed')).toMatch(/pronielts-processed$/);
    });

    it('round-trips a buffer and reports its sha256 and size', async () => {
      const body = Buffer.from('hello, ielts');
      const res = await store.put('raw', 'rt/buffer.bin', body);
      expect(res).toEqual({ key: 'rt/buffer.bin', size: body.length, sha256: sha256Of(body) });
      expect(await text(await store.get('raw', 'rt/buffer.bin'))).toBe('hello, ielts');
      expect(await store.stat('raw', 'rt/buffer.bin')).toEqual({ key: 'rt/buffer.bin', size: body.length });
    });

    it('streams a body of known size and of unknown size', async () => {
      const known = await store.put('raw', 'rt/known.bin', byteStream(300_000), { size: 300_000 });
      const unknown = await store.put('raw', 'rt/unknown.bin', byteStream(300_000));
      expect(known.size).toBe(300_000);
      expect(unknown.sha256).toBe(known.sha256);
      expect((await store.stat('raw', 'rt/unknown.bin'))?.size).toBe(300_000);
    });

    it('overwrites an existing key with the new content', async () => {
      await store.put('raw', 'rt/over.txt', 'first');
      await store.put('raw', 'rt/over.txt', 'second');
      expect(await text(await store.get('raw', 'rt/over.txt'))).toBe('second');
    });

    it('reports a missing object as null from stat and ObjectNotFoundError from get', async () => {
      expect(await store.stat('raw', 'rt/missing.bin')).toBeNull();
      await expect(store.get('raw', 'rt/missing.bin')).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('lists objects under a prefix only, in key order', async () => {
      await store.put('raw', 'ls/b/2.txt', 'x');
      await store.put('raw', 'ls/a/1.txt', 'x');
      await store.put('raw', 'ls/a/0.txt', 'x');
      await store.put('raw', 'lsx/other.txt', 'x');
      expect(await keys(store, 'ls/')).toEqual(['ls/a/0.txt', 'ls/a/1.txt', 'ls/b/2.txt']);
      expect(await keys(store, 'ls/a/')).toEqual(['ls/a/0.txt', 'ls/a/1.txt']);
    });

    it('removes objects, and removing a missing one is not an error', async () => {
      await store.put('raw', 'rm/x.txt', 'x');
      await store.remove('raw', 'rm/x.txt');
      await store.remove('raw', 'rm/x.txt');
      expect(await store.stat('raw', 'rm/x.txt')).toBeNull();
    });

    it.each(['../escape', '/abs', 'a//b', '.hidden/x', 'a/../b', 'a/./b', '', 'sp ace', 'ctl\u0000'])(
      'refuses the unsafe key %j',
      async (key) => {
        await expect(store.put('raw', key, 'x')).rejects.toBeInstanceOf(StageError);
      },
    );

    it('leaves no visible object when the source stream dies mid-upload (known size)', async () => {
      await expect(
        store.put('raw', 'int/known.bin', byteStream(2_000_000, 700_000), { size: 2_000_000 }),
      ).rejects.toThrow(/source died/);
      expect(await store.stat('raw', 'int/known.bin')).toBeNull();
      expect(await keys(store, 'int/')).toEqual([]);
    });

    it('leaves no visible object when the source stream dies mid-upload (unknown size)', async () => {
      await expect(store.put('raw', 'int/unknown.bin', byteStream(2_000_000, 700_000))).rejects.toThrow(
        /source died/,
      );
      expect(await store.stat('raw', 'int/unknown.bin')).toBeNull();
    });

    it.each([
      ['shorter', 1_000_000, 1_000_001],
      ['longer', 1_000_001, 1_000_000],
    ])('refuses a body %s than its given size, and leaves no object', async (_, gives, size) => {
      const key = `int/size-${gives}.bin`;
      const err = await store.put('raw', key, byteStream(gives), { size }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageError);
      expect((err as StageError).message).toContain(`source gave ${gives} bytes, expected ${size}`);
      expect(await store.stat('raw', key)).toBeNull();
    });

    it('reads an object of a named bucket as an external source, and refuses unsafe names', async () => {
      await store.put('raw', 'ext/clip.bin', 'external bytes');
      const { stream, size } = await store.getExternal(store.bucketName('raw'), 'ext/clip.bin');
      expect(size).toBe(14);
      expect(await text(stream)).toBe('external bytes');
      await expect(store.getExternal(store.bucketName('raw'), 'ext/missing.bin')).rejects.toBeInstanceOf(
        ObjectNotFoundError,
      );
      await expect(store.getExternal('Bad_Bucket', 'x')).rejects.toBeInstanceOf(StageError);
      await expect(store.getExternal(store.bucketName('raw'), '../../etc/passwd')).rejects.toBeInstanceOf(
        StageError,
      );
    });

    it('publishes data objects first and the checksummed manifest last', async () => {
      const prefix = 'pub/ok';
      expect(await readManifest(store, 'raw', prefix)).toBeNull();
      const manifest = await publish(
        store,
        'raw',
        prefix,
        'test',
        [
          { name: 'a.txt', body: 'alpha', contentType: 'text/plain' },
          { name: 'b.bin', body: byteStream(100_000), contentType: 'application/octet-stream' },
        ],
        { note: 'x' },
      );
      expect(manifest.files.map((f) => [f.name, f.size])).toEqual([
        ['a.txt', 5],
        ['b.bin', 100_000],
      ]);
      expect(manifest.files[0]?.sha256).toBe(sha256Of('alpha'));
      const read = await readManifest(store, 'raw', prefix);
      expect(read).toEqual(manifest);
      expect(await verifyManifest(store, 'raw', manifest)).toEqual([]);
      // Tampering is detected.
      await store.put('raw', `${prefix}/a.txt`, 'ALPHA');
      expect(await verifyManifest(store, 'raw', manifest)).toEqual(['a.txt']);
    });

    it('leaves a prefix unpublished (no manifest) when a data object fails', async () => {
      const prefix = 'pub/broken';
      await expect(
        publish(
          store,
          'raw',
          prefix,
          'test',
          [
            { name: 'a.txt', body: 'alpha', contentType: 'text/plain' },
            { name: 'b.bin', body: byteStream(500_000, 200_000), contentType: 'application/octet-stream' },
          ],
          {},
        ),
      ).rejects.toThrow(/source died/);
      expect(await readManifest(store, 'raw', prefix)).toBeNull();
      expect(await store.stat('raw', `${prefix}/${MANIFEST_NAME}`)).toBeNull();
      expect(await store.stat('raw', `${prefix}/b.bin`)).toBeNull();
    });
  });
}
