import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as Minio from 'minio';
import { BUCKETS, type BucketId, type StorageConfig } from '../config/index.ts';
import { isConnectionError, StageError } from '../errors.ts';
import {
  assertExternal,
  assertKey,
  assertPrefix,
  bucketNameFor,
  hashingTap,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStore,
  type PutBody,
  type PutOptions,
  type PutResult,
  sha256Of,
} from './object-store.ts';

/**
 * Part size for multipart uploads. The minio client buffers one part in memory (and a whole object up to
 * this size for single PUTs), so this is the ceiling on upload memory. S3 allows 5 MiB to 5 GiB;
 * 8 MiB x 10,000 parts covers objects up to ~78 GiB before the client grows the part size.
 */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);

type S3Config = Extract<StorageConfig, { kind: 's3' }>;

/** MinIO or any S3-compatible server, through the `minio` client. */
export class MinioStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly location: string;
  readonly #config: S3Config;
  readonly #partSize: number;
  /** The minio client is loaded on first use: a process that never touches S3 never pays for it. */
  #clientPromise: Promise<Minio.Client> | undefined;
  readonly #prefix: string;
  readonly #region: string;

  constructor(config: S3Config, opts: { partSize?: number } = {}) {
    this.#config = config;
    this.#partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    this.#prefix = config.bucketPrefix;
    this.#region = config.region;
    this.location = `${config.useSSL ? 'https' : 'http'}://${config.endPoint}${config.port ? `:${config.port}` : ''}`;
  }

  bucketName(bucket: BucketId): string {
    return bucketNameFor(this.#prefix, bucket);
  }

  #client(): Promise<Minio.Client> {
    this.#clientPromise ??= import('minio').then(
      (M) =>
        new M.Client({
          endPoint: this.#config.endPoint,
          ...(this.#config.port ? { port: this.#config.port } : {}),
          useSSL: this.#config.useSSL,
          accessKey: this.#config.accessKey,
          secretKey: this.#config.secretKey,
          region: this.#config.region,
          partSize: this.#partSize,
          pathStyle: true,
        }),
    );
    return this.#clientPromise;
  }

  /** Turns connection failures into a retryable storage_unavailable error naming the server. */
  async #guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StageError || err instanceof ObjectNotFoundError) throw err;
      if (isConnectionError(err)) {
        const detail = err instanceof Error ? err.message : String(err);
        throw new StageError(
          'storage_unavailable',
          `object storage ${this.location} unavailable during ${op}: ${detail}`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  async ensureBuckets(): Promise<void> {
    await this.#guard('ensureBuckets', async () => {
      for (const b of Object.keys(BUCKETS) as BucketId[]) {
        const name = this.bucketName(b);
        if (await (await this.#client()).bucketExists(name)) continue;
        try {
          await (await this.#client()).makeBucket(name, this.#region);
        } catch (err) {
          // Another process created it between our check and our create.
          const code = (err as { code?: string }).code;
          if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
        }
      }
    });
  }

  async put(bucket: BucketId, key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    assertKey(key);
    const meta = { 'Content-Type': opts.contentType ?? 'application/octet-stream' };
    const name = this.bucketName(bucket);
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const buf = Buffer.from(body);
      await this.#guard('put', async () =>
        (await this.#client()).putObject(name, key, buf, buf.length, meta),
      );
      return { key, size: buf.length, sha256: sha256Of(buf) };
    }
    if (opts.size === undefined) return this.#putUnknownLength(bucket, key, body, opts);
    return this.#putStream(bucket, key, body, opts.size, opts);
  }

  async #putStream(
    bucket: BucketId,
    key: string,
    body: Readable,
    size: number | undefined,
    opts: PutOptions,
  ): Promise<PutResult> {
    const meta = { 'Content-Type': opts.contentType ?? 'application/octet-stream' };
    const name = this.bucketName(bucket);
    const tap = hashingTap();
    const piped = pipeline(body, tap);
    try {
      // Promise.all fails fast: if the source dies, we do not wait for an upload that can never finish.
      await this.#guard('put', async () => {
        const client = await this.#client();
        await Promise.all([client.putObject(name, key, tap, size, meta), piped]);
      });
    } catch (err) {
      tap.destroy();
      await this.#abort(name, key);
      throw err;
    }
    const digest = tap.digest();
    if (size !== undefined && digest.size !== size) {
      await (await this.#client()).removeObject(name, key).catch(() => {});
      throw new StageError(
        'integrity',
        `upload of ${name}/${key}: source gave ${digest.size} bytes, expected ${size}`,
      );
    }
    return { key, ...digest };
  }

  /**
   * A stream of unknown length: read up to one part; a stream that ends there is one PUT, a longer one
   * streams as a multipart upload of fixed-size parts (memory stays bounded by the part size and the
   * client's part queue, never by the object size).
   */
  async #putUnknownLength(
    bucket: BucketId,
    key: string,
    body: Readable,
    opts: PutOptions,
  ): Promise<PutResult> {
    const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    const head: Buffer[] = [];
    let headBytes = 0;
    let done = false;
    while (headBytes < this.#partSize) {
      const next = await it.next();
      if (next.done) {
        done = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      head.push(chunk);
      headBytes += chunk.length;
    }
    if (done) return this.put(bucket, key, Buffer.concat(head), opts);
    const rest = Readable.from(
      (async function* () {
        yield* head;
        for (;;) {
          const next = await it.next();
          if (next.done) return;
          yield next.value;
        }
      })(),
    );
    return this.#putStream(bucket, key, rest, undefined, opts);
  }

  async putFile(bucket: BucketId, key: string, filePath: string, opts: PutOptions = {}): Promise<PutResult> {
    const { size } = await fsp.stat(filePath);
    return this.put(bucket, key, fs.createReadStream(filePath), { ...opts, size });
  }

  /** A failed multipart upload leaves invisible parts behind; remove them (best effort). */
  async #abort(bucketName: string, key: string): Promise<void> {
    try {
      await (await this.#client()).removeIncompleteUpload(bucketName, key);
    } catch {
      // The server may be the reason we are here; an orphaned upload is invisible and expires by lifecycle.
    }
  }

  async get(bucket: BucketId, key: string): Promise<Readable> {
    assertKey(key);
    const name = this.bucketName(bucket);
    return this.#guard('get', async () => {
      try {
        return await (await this.#client()).getObject(name, key);
      } catch (err) {
        if (NOT_FOUND.has((err as { code?: string }).code ?? '')) throw new ObjectNotFoundError(name, key);
        throw err;
      }
    });
  }

  async getExternal(bucket: string, key: string): Promise<{ stream: Readable; size: number }> {
    assertExternal(bucket, key);
    return this.#guard('get', async () => {
      try {
        const st = await (await this.#client()).statObject(bucket, key);
        return { stream: await (await this.#client()).getObject(bucket, key), size: st.size };
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (NOT_FOUND.has(code) || code === 'NoSuchBucket') throw new ObjectNotFoundError(bucket, key);
        throw err;
      }
    });
  }

  async stat(bucket: BucketId, key: string): Promise<ObjectInfo | null> {
    assertKey(key);
    const name = this.bucketName(bucket);
    return this.#guard('stat', async () => {
      try {
        const st = await (await this.#client()).statObject(name, key);
        return { key, size: st.size };
      } catch (err) {
        if (NOT_FOUND.has((err as { code?: string }).code ?? '')) return null;
        throw err;
      }
    });
  }

  async *list(bucket: BucketId, prefix: string): AsyncIterable<ObjectInfo> {
    assertPrefix(prefix);
    const stream = (await this.#client()).listObjectsV2(this.bucketName(bucket), prefix, true);
    try {
      for await (const item of stream as AsyncIterable<Minio.BucketItem>) {
        if (item.name) yield { key: item.name, size: item.size };
      }
    } catch (err) {
      if (isConnectionError(err)) {
        throw new StageError(
          'storage_unavailable',
          `object storage ${this.location} unavailable during list`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  async remove(bucket: BucketId, key: string): Promise<void> {
    assertKey(key);
    await this.#guard('remove', async () =>
      (await this.#client()).removeObject(this.bucketName(bucket), key),
    );
  }

  /** Incomplete multipart uploads under a prefix (for tests and cleanup tooling). */
  async incompleteUploads(bucket: BucketId, prefix = ''): Promise<string[]> {
    const out: string[] = [];
    const stream = (await this.#client()).listIncompleteUploads(this.bucketName(bucket), prefix, true);
    for await (const u of stream as AsyncIterable<{ key: string }>) out.push(u.key);
    return out;
  }

  async close(): Promise<void> {}
}
