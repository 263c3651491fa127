import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type * as Minio from 'minio';
import { BUCKETS, type BucketId, type StorageConfig } from '../config/index.ts';
import { isConnectionError, StageError } from '../errors.ts';
import {
  assertExternal,
  assertKey,
  assertPrefix,
  assertPutSize,
  bucketNameFor,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStore,
  type PutBody,
  type PutOptions,
  type PutResult,
  sha256Of,
  type UploadExpiry,
} from './object-store.ts';
import { streamParts } from './parts.ts';

/**
 * Part size for multipart uploads. An upload holds at most two parts in memory (one uploading, one being
 * read), and a whole object up to this size for single PUTs, so this is the ceiling on upload memory.
 * S3 allows 5 MiB to 5 GiB per part and 10,000 parts: 8 MiB parts cover a body of unknown length up to
 * ~78 GiB; a body of known size larger than that gets parts large enough to fit.
 */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** S3's limit on the parts of one multipart upload. */
export const MAX_PARTS = 10_000;

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);
/** The ID of the lifecycle rule that aborts incomplete multipart uploads. */
export const UPLOAD_EXPIRY_RULE = 'pronielts-abort-incomplete-uploads';
/** S3 answers that mean the credentials (or their rights) are wrong: retrying cannot help. */
const REFUSED = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden']);

/**
 * An agent whose sockets fail after `idleMs` without a byte either way: connecting, waiting for the
 * server's answer, or mid-transfer. A frozen server then fails the request (ETIMEDOUT, exit 75), and a
 * large transfer that keeps moving is never cut.
 */
function idleTimeoutAgent(useSSL: boolean, idleMs: number): http.Agent {
  // The agent (re)arms each socket's timer whenever it hands the socket to a request; on expiry the
  // socket only emits 'timeout', so a listener of our own ends it with an error the request sees.
  const agent = new (useSSL ? https.Agent : http.Agent)({ keepAlive: true, timeout: idleMs });
  const create = agent.createConnection.bind(agent) as (o: object, cb: unknown) => Socket;
  agent.createConnection = ((options: object, callback: unknown) => {
    const socket = create(options, callback);
    socket.on('timeout', () =>
      socket.destroy(
        Object.assign(new Error(`no data from the server for ${idleMs} ms (MINIO_IDLE_TIMEOUT_MS)`), {
          code: 'ETIMEDOUT',
        }),
      ),
    );
    return socket;
  }) as typeof agent.createConnection;
  return agent;
}

type S3Config = Extract<StorageConfig, { kind: 's3' }>;

/** MinIO or any S3-compatible server, through the `minio` client. */
export class MinioStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly location: string;
  readonly #config: S3Config;
  readonly #partSize: number;
  readonly #maxParts: number;
  /** The minio client is loaded on first use: a process that never touches S3 never pays for it. */
  #clientPromise: Promise<Minio.Client> | undefined;
  readonly #prefix: string;
  readonly #region: string;

  /** `maxParts` below S3's {@link MAX_PARTS} only lets tests reach the limit with a few parts. */
  constructor(config: S3Config, opts: { partSize?: number; maxParts?: number } = {}) {
    this.#config = config;
    this.#partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    this.#maxParts = Math.min(opts.maxParts ?? MAX_PARTS, MAX_PARTS);
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
          transportAgent: idleTimeoutAgent(this.#config.useSSL, this.#config.idleTimeoutMs),
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
      const code = (err as { code?: string }).code;
      if (code && REFUSED.has(code)) {
        throw new StageError(
          'config_invalid',
          `object storage ${this.location} refused the credentials or their rights during ${op} (${code}): check MINIO_ACCESS_KEY and MINIO_SECRET_KEY`,
          { cause: err },
        );
      }
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
    return this.#putParts(bucket, key, body, opts);
  }

  /**
   * A streamed body, of known or unknown length, cut into parts of the part size (streamParts). A body
   * that fits one part is one PUT. A longer one is an S3 multipart upload driven here: each part uploads
   * while the next is read, so the source keeps flowing, and memory holds two part buffers, reused for
   * every part (no dead 8 MiB buffers waiting for the garbage collector). The minio client's own stream
   * upload (putObject with a stream) is not used: it first lists the bucket's incomplete uploads to
   * resume one, computes an MD5 of every part on top of the signature's sha256, and stops reading the
   * source while each part uploads. The size, when known, is checked before the object becomes visible;
   * any failure aborts the upload by its id, leaving neither an object nor parts.
   */
  async #putParts(bucket: BucketId, key: string, body: Readable, opts: PutOptions): Promise<PutResult> {
    const name = this.bucketName(bucket);
    const meta = { 'Content-Type': opts.contentType ?? 'application/octet-stream' };
    const partSize =
      opts.size === undefined
        ? this.#partSize
        : Math.max(this.#partSize, Math.ceil(opts.size / this.#maxParts));
    const { parts, digest, reuse } = streamParts(body, partSize);
    const checked = (): PutResult => {
      const d = digest();
      assertPutSize(`${name}/${key}`, d.size, opts.size);
      return { key, ...d };
    };
    return this.#guard('put', async () => {
      const first = await parts.next();
      if (first.done || first.value.length < partSize) {
        // The whole body is in hand: one PUT, and only if it is what was promised.
        const buf = first.done ? Buffer.alloc(0) : first.value;
        await parts.next();
        const result = checked();
        await (await this.#client()).putObject(name, key, buf, buf.length, meta);
        return result;
      }
      const client = await this.#client();
      const uploadId = await client.initiateNewMultipartUpload(name, key, meta);
      const etags: Array<{ part: number; etag: string }> = [];
      // The part uploading and its buffer; the part read next is then the only other one in memory.
      let previous: { upload: Promise<unknown>; part: Buffer } | undefined;
      let current: Promise<unknown> | undefined;
      try {
        let part: Buffer = first.value;
        for (let n = 1; ; n++) {
          if (n > this.#maxParts)
            throw new StageError(
              'input_invalid',
              `upload of ${name}/${key}: a body of unknown length over ${this.#maxParts} parts of ${partSize} bytes; give its size`,
            );
          const uploadPart = {
            bucketName: name,
            objectName: key,
            uploadID: uploadId,
            partNumber: n,
            headers: {},
          };
          current = client.uploadPart(uploadPart, part).then((r) => etags.push({ part: n, etag: r.etag }));
          // Awaited after the next part is read; a failure must not go unhandled meanwhile.
          current.catch(() => undefined);
          if (previous) {
            await previous.upload;
            // Sent and answered: its buffer takes the next part (no new 8 MiB allocation per part).
            reuse(previous.part);
          }
          previous = { upload: current, part };
          const next = await parts.next();
          if (next.done) break;
          part = next.value;
        }
        await previous?.upload;
        const result = checked();
        await client.completeMultipartUpload(
          name,
          key,
          uploadId,
          etags.sort((a, b) => a.part - b.part),
        );
        return result;
      } catch (err) {
        body.destroy();
        // No part may land after the abort: wait for the ones in flight first.
        await Promise.allSettled([previous?.upload, current]);
        await client.abortMultipartUpload(name, key, uploadId).catch(() => undefined);
        throw err;
      }
    });
  }

  async putFile(bucket: BucketId, key: string, filePath: string, opts: PutOptions = {}): Promise<PutResult> {
    const { size } = await fsp.stat(filePath);
    return this.put(bucket, key, fs.createReadStream(filePath), { ...opts, size });
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

  async expireIncompleteUploads(days: number): Promise<UploadExpiry> {
    return this.#guard('expireIncompleteUploads', async () => {
      const client = await this.#client();
      const rule: UploadExpiry['rule'] = {};
      let aborted = 0;
      const before = Date.now() - days * 86_400_000;
      for (const b of Object.keys(BUCKETS) as BucketId[]) {
        const name = this.bucketName(b);
        rule[name] = await this.#setUploadExpiryRule(client, name, days);
        for await (const u of this.#uploads(client, name, '')) {
          if (u.initiated.getTime() > before) continue;
          await client.abortMultipartUpload(name, u.key, u.uploadId);
          aborted++;
        }
      }
      return { rule, aborted };
    });
  }

  /**
   * Puts the AbortIncompleteMultipartUpload rule into the bucket's lifecycle, keeping its other rules.
   * MinIO refuses the action (it expires stale uploads itself, after MINIO_API_STALE_UPLOADS_EXPIRY, 24 h
   * by default) and some servers have no lifecycle at all: 'unsupported', and the abort sweep remains.
   */
  async #setUploadExpiryRule(
    client: Minio.Client,
    bucket: string,
    days: number,
  ): Promise<'set' | 'unsupported'> {
    type Rule = Record<string, unknown> & { ID?: string };
    let rules: Rule[] = [];
    try {
      const current = (await client.getBucketLifecycle(bucket)) as { Rule?: Rule | Rule[] } | null;
      rules = ([] as Rule[]).concat(current?.Rule ?? []);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NotImplemented') return 'unsupported';
      if (code !== 'NoSuchLifecycleConfiguration') throw err;
    }
    const ours: Rule = {
      ID: UPLOAD_EXPIRY_RULE,
      Status: 'Enabled',
      Filter: { Prefix: '' },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: days },
    };
    try {
      await client.setBucketLifecycle(bucket, {
        Rule: [...rules.filter((r) => r.ID !== UPLOAD_EXPIRY_RULE), ours],
      } as never);
      return 'set';
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NotImplemented' || code === 'InvalidArgument' || code === 'MalformedXML')
        return 'unsupported';
      throw err;
    }
  }

  /**
   * The incomplete multipart uploads under a prefix, page by page (ListMultipartUploads). MinIO lists
   * only those of one exact key.
   */
  async *#uploads(
    client: Minio.Client,
    bucket: string,
    prefix: string,
  ): AsyncGenerator<{ key: string; uploadId: string; initiated: Date }> {
    let keyMarker = '';
    let uploadIdMarker = '';
    for (;;) {
      const page = await client.listIncompleteUploadsQuery(bucket, prefix, keyMarker, uploadIdMarker, '');
      yield* page.uploads;
      if (!page.isTruncated) return;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker;
    }
  }

  /** Incomplete multipart uploads under a prefix (for tests and cleanup tooling). */
  async incompleteUploads(bucket: BucketId, prefix = ''): Promise<string[]> {
    const out: string[] = [];
    for await (const u of this.#uploads(await this.#client(), this.bucketName(bucket), prefix))
      out.push(u.key);
    return out;
  }

  async close(): Promise<void> {}
}
