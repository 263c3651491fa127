import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BUCKETS, type BucketId } from '../config/index.ts';
import {
  assertExternal,
  assertKey,
  assertPrefix,
  assertPutSize,
  bucketNameFor,
  hashingTap,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStore,
  type PutBody,
  type PutOptions,
  type PutResult,
  type UploadExpiry,
} from './object-store.ts';

const TMP_DIR = '.incoming';

/**
 * The embedded object store: `<root>/<bucket>/<key>`. Writes go to `<bucket>/.incoming/` and are renamed
 * into place after fsync, so a killed writer leaves no visible object (rename is atomic on one filesystem).
 */
export class FolderStore implements ObjectStore {
  readonly kind = 'folder' as const;
  readonly location: string;
  readonly #root: string;
  readonly #prefix: string;

  constructor(root: string, bucketPrefix = '') {
    this.#root = path.resolve(root);
    this.#prefix = bucketPrefix;
    this.location = `folder:${this.#root}`;
  }

  bucketName(bucket: BucketId): string {
    return bucketNameFor(this.#prefix, bucket);
  }

  #path(bucket: BucketId, key: string): string {
    assertKey(key);
    return path.join(this.#root, this.bucketName(bucket), ...key.split('/'));
  }

  async ensureBuckets(): Promise<void> {
    for (const b of Object.keys(BUCKETS) as BucketId[]) {
      await fsp.mkdir(path.join(this.#root, this.bucketName(b), TMP_DIR), { recursive: true });
    }
  }

  /** A put's temporary file left by a killed process is this store's incomplete upload. */
  async expireIncompleteUploads(days: number): Promise<UploadExpiry> {
    const rule: UploadExpiry['rule'] = {};
    let aborted = 0;
    const before = Date.now() - days * 86_400_000;
    for (const b of Object.keys(BUCKETS) as BucketId[]) {
      rule[this.bucketName(b)] = 'none';
      const dir = path.join(this.#root, this.bucketName(b), TMP_DIR);
      for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
        const file = path.join(dir, name);
        const st = await fsp.stat(file).catch(() => null);
        if (!st || st.mtimeMs > before) continue;
        await fsp.rm(file, { force: true });
        aborted++;
      }
    }
    return { rule, aborted };
  }

  async put(bucket: BucketId, key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    const final = this.#path(bucket, key);
    const tmpDir = path.join(this.#root, this.bucketName(bucket), TMP_DIR);
    await fsp.mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${randomUUID()}.part`);
    const tap = hashingTap();
    const source =
      typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
    try {
      const out = fs.createWriteStream(tmp, { flags: 'wx' });
      await pipeline(source, tap, out);
      const fh = await fsp.open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      assertPutSize(`${this.bucketName(bucket)}/${key}`, tap.digest().size, opts.size);
      await fsp.mkdir(path.dirname(final), { recursive: true });
      await fsp.rename(tmp, final);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return { key, ...tap.digest() };
  }

  async putFile(bucket: BucketId, key: string, filePath: string, opts?: PutOptions): Promise<PutResult> {
    return this.put(bucket, key, fs.createReadStream(filePath), opts);
  }

  async get(bucket: BucketId, key: string): Promise<Readable> {
    const p = this.#path(bucket, key);
    try {
      const fh = await fsp.open(p, 'r');
      return fh.createReadStream();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new ObjectNotFoundError(this.bucketName(bucket), key);
      throw err;
    }
  }

  async getExternal(bucket: string, key: string): Promise<{ stream: Readable; size: number }> {
    assertExternal(bucket, key);
    const p = path.join(this.#root, bucket, ...key.split('/'));
    if (!p.startsWith(`${this.#root}${path.sep}`)) throw new ObjectNotFoundError(bucket, key);
    try {
      const fh = await fsp.open(p, 'r');
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        throw new ObjectNotFoundError(bucket, key);
      }
      return { stream: fh.createReadStream(), size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(bucket, key);
      throw err;
    }
  }

  async stat(bucket: BucketId, key: string): Promise<ObjectInfo | null> {
    try {
      const st = await fsp.stat(this.#path(bucket, key));
      return st.isFile() ? { key, size: st.size } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async *list(bucket: BucketId, prefix: string): AsyncIterable<ObjectInfo> {
    assertPrefix(prefix);
    const base = path.join(this.#root, this.bucketName(bucket));
    const keys: ObjectInfo[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // .incoming and other internals
        const k = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          // Only descend where the prefix can still match.
          if (k.startsWith(prefix) || prefix.startsWith(`${k}/`)) await walk(path.join(dir, e.name), k);
        } else if (e.isFile() && k.startsWith(prefix)) {
          keys.push({ key: k, size: (await fsp.stat(path.join(dir, e.name))).size });
        }
      }
    };
    await walk(base, '');
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* keys;
  }

  async remove(bucket: BucketId, key: string): Promise<void> {
    await fsp.rm(this.#path(bucket, key), { force: true });
  }

  async close(): Promise<void> {}
}
