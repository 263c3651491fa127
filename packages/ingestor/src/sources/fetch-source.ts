import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hashingTap, ObjectNotFoundError, type ObjectStore } from '@pronielts/shared/storage';
import { ItemRejected } from '../item-rejected.ts';
import type { AddressPolicy } from './address-policy.ts';
import {
  type DownloadLimits,
  downloadHttp,
  type FetchedFile,
  type LookupFn,
  writeCapped,
} from './http-download.ts';
import type { Source } from './source-uri.ts';

export interface FetchOptions {
  downloadDir: string;
  limits: DownloadLimits;
  policy: AddressPolicy;
  /** Real paths under which local files may be read; empty = local files refused. */
  localRoots: string[];
  store: ObjectStore;
  signal?: AbortSignal;
  lookup?: LookupFn;
}

/** A source's bytes in a local file. `owned` files are temporary and must be removed by the caller. */
export interface LocalMedia extends FetchedFile {
  owned: boolean;
}

async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const tap = hashingTap();
  const sink = new Writable({ write: (_chunk, _enc, cb) => cb() }); // the tap hashes and counts
  await pipeline(fs.createReadStream(file), tap, sink);
  return tap.digest();
}

function isInside(child: string, roots: string[]): boolean {
  return roots.some((r) => child === r || child.startsWith(r.endsWith(path.sep) ? r : `${r}${path.sep}`));
}

/**
 * Brings a source's bytes to local disk: http(s) downloads and s3 objects stream into the download dir;
 * local files are read in place (after a realpath check against the allowed roots, so a symlink cannot
 * lead outside them). Content is hashed on the way: the sha256 is the media id.
 */
export async function fetchSource(source: Source, opts: FetchOptions): Promise<LocalMedia> {
  await fsp.mkdir(opts.downloadDir, { recursive: true });
  const dest = path.join(opts.downloadDir, `${randomUUID()}.part`);
  switch (source.kind) {
    case 'http': {
      const f = await downloadHttp(source.url, dest, {
        limits: opts.limits,
        policy: opts.policy,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
      });
      return { ...f, owned: true };
    }
    case 's3': {
      let obj: Awaited<ReturnType<ObjectStore['getExternal']>>;
      try {
        obj = await opts.store.getExternal(source.bucket, source.key);
      } catch (err) {
        if (err instanceof ObjectNotFoundError)
          throw new ItemRejected('not_found', `no object ${source.display}`);
        throw err; // storage down: a stage error (exit 75), not the item's fault
      }
      if (obj.size > opts.limits.maxBytes) {
        obj.stream.destroy();
        throw new ItemRejected('too_large', `${obj.size} bytes, limit ${opts.limits.maxBytes}`);
      }
      const f = await writeCapped(obj.stream, dest, opts.limits.maxBytes, opts.signal);
      return { ...f, owned: true };
    }
    case 'file': {
      if (opts.localRoots.length === 0) {
        throw new ItemRejected(
          'refused_path',
          'local files are not allowed here (INGEST_LOCAL_ROOTS is empty)',
        );
      }
      let real: string;
      try {
        real = await fsp.realpath(source.path);
      } catch {
        throw new ItemRejected('not_found', 'no such file');
      }
      if (!isInside(real, opts.localRoots)) {
        throw new ItemRejected(
          'refused_path',
          'the file is outside the allowed local roots (INGEST_LOCAL_ROOTS)',
        );
      }
      const st = await fsp.stat(real);
      if (!st.isFile()) throw new ItemRejected('not_audio', 'not a regular file');
      if (st.size === 0) throw new ItemRejected('empty', 'the file has 0 bytes');
      if (st.size > opts.limits.maxBytes) {
        throw new ItemRejected('too_large', `${st.size} bytes, limit ${opts.limits.maxBytes}`);
      }
      const { size, sha256 } = await hashFile(real);
      return { path: real, size, sha256, owned: false };
    }
  }
}
