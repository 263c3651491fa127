import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { BUCKETS, type BucketId } from '../config/index.ts';
import { StageError } from '../errors.ts';

/**
 * The object-store interface every stage uses. Two implementations: `MinioStore` (MinIO or any S3 server,
 * through the minio client) and `FolderStore` (a local folder, the embedded default). Both guarantee:
 *  - a put is atomic: readers see the whole object or nothing, also when the upload dies mid-stream;
 *  - memory stays flat: bodies are streamed, never buffered whole;
 *  - the sha256 and size of what was written are returned, computed while streaming.
 */

export type PutBody = Buffer | string | Readable;

export interface PutOptions {
  contentType?: string;
  /** Size in bytes when known (checked against what the stream gave); unknown sizes stream in parts. */
  size?: number;
}

export interface PutResult {
  key: string;
  size: number;
  sha256: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface UploadExpiry {
  /** Per bucket: whether the server took the lifecycle rule ('none' for a store without uploads). */
  rule: Record<string, 'set' | 'unsupported' | 'none'>;
  /** Incomplete uploads older than the limit that were aborted now. */
  aborted: number;
}

export interface ObjectStore {
  readonly kind: 's3' | 'folder';
  /** Where it points, without credentials, for logs. */
  readonly location: string;
  /** The real bucket name for a logical bucket (prefix applied). */
  bucketName(bucket: BucketId): string;
  /** Creates the three seed buckets if missing. Idempotent and safe to race. */
  ensureBuckets(): Promise<void>;
  /**
   * Makes incomplete multipart uploads (left by a process killed mid-upload) go away after `days`: an S3
   * lifecycle rule (AbortIncompleteMultipartUpload) on each bucket where the server takes one, and an
   * abort of those already older. Idempotent; other lifecycle rules are kept.
   */
  expireIncompleteUploads(days: number): Promise<UploadExpiry>;
  put(bucket: BucketId, key: string, body: PutBody, opts?: PutOptions): Promise<PutResult>;
  putFile(
    bucket: BucketId,
    key: string,
    filePath: string,
    opts?: Omit<PutOptions, 'size'>,
  ): Promise<PutResult>;
  /** A stream of the object's bytes. Throws ObjectNotFoundError. */
  get(bucket: BucketId, key: string): Promise<Readable>;
  /** null when the object does not exist. */
  stat(bucket: BucketId, key: string): Promise<ObjectInfo | null>;
  /** Objects under a prefix, in key order. */
  list(bucket: BucketId, prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * Reads an object from any bucket of the same server (an `s3://bucket/key` media source). The bucket
   * must be a valid S3 bucket name and the key must not escape it; throws ObjectNotFoundError.
   */
  getExternal(bucket: string, key: string): Promise<{ stream: Readable; size: number }>;
  /** Removing a missing object is not an error. */
  remove(bucket: BucketId, key: string): Promise<void>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  readonly code = 'NotFound';
  constructor(bucket: string, key: string) {
    super(`object not found: ${bucket}/${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

const KEY_SEGMENT = /^[A-Za-z0-9_=+-][A-Za-z0-9._=+-]*$/;

/**
 * Keys are built from validated ids; this guard stops anything else (path traversal, empty segments,
 * hidden names that the folder store uses internally, control characters) at the storage boundary.
 */
export function assertKey(key: string): void {
  const ok =
    key.length > 0 &&
    key.length <= 1024 &&
    key.split('/').every((seg) => KEY_SEGMENT.test(seg) && seg !== '.' && seg !== '..');
  if (!ok) throw new StageError('internal', `invalid object key ${JSON.stringify(key.slice(0, 200))}`);
}

/** Prefixes follow the same rules as keys but may end with '/' (or be empty). */
export function assertPrefix(prefix: string): void {
  if (prefix === '') return;
  assertKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const S3_BUCKET_NAME = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Validates a bucket name and key that came from outside (a source URI) before any I/O. */
export function assertExternal(bucket: string, key: string): void {
  const badKey = key === '' || key.length > 1024 || CONTROL_CHARS.test(key) || key.split('/').includes('..');
  if (!S3_BUCKET_NAME.test(bucket) || badKey) {
    throw new StageError(
      'input_invalid',
      `invalid bucket or key: ${JSON.stringify(`${bucket}/${key}`.slice(0, 200))}`,
    );
  }
}

export function bucketNameFor(prefix: string, bucket: BucketId): string {
  return `${prefix}${BUCKETS[bucket]}`;
}

/** A pass-through stream that hashes and counts what flows through it. */
export function hashingTap(): Transform & { digest(): { sha256: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  let result: { sha256: string; size: number } | undefined;
  return Object.assign(tap, {
    digest() {
      result ??= { sha256: hash.digest('hex'), size };
      return result;
    },
  });
}

/** A body must give the size it was put with (when one was given): an upload that differs is refused. */
export function assertPutSize(where: string, got: number, expected: number | undefined): void {
  if (expected !== undefined && got !== expected)
    throw new StageError('integrity', `upload of ${where}: source gave ${got} bytes, expected ${expected}`);
}

export function sha256Of(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
