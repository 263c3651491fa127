import { text } from 'node:stream/consumers';
import type { z } from 'zod';
import type { BucketId } from '../config/index.ts';
import { MANIFEST_SCHEMA, type ManifestFile, ObjectManifest } from '../contracts/manifests.ts';
import { StageError } from '../errors.ts';
import {
  assertPrefix,
  hashingTap,
  ObjectNotFoundError,
  type ObjectStore,
  type PutBody,
} from './object-store.ts';

export const MANIFEST_NAME = 'manifest.json';

export interface PublishFile {
  /** Name inside the prefix (a key segment or a relative key). */
  name: string;
  /** The bytes, or a function that opens them when this file's turn comes (streams open one at a time). */
  body: PutBody | (() => PutBody | Promise<PutBody>);
  contentType: string;
  size?: number;
}

function join(prefix: string, name: string): string {
  return prefix.endsWith('/') ? `${prefix}${name}` : `${prefix}/${name}`;
}

/**
 * Atomic publish of a set of objects under `prefix`: data objects first, `manifest.json` last, with the
 * sha256 and size of every data object. A prefix is published exactly when its manifest exists, so a writer
 * killed at any point leaves either nothing visible or a complete, checksummed set.
 */
export async function publish(
  store: ObjectStore,
  bucket: BucketId,
  prefix: string,
  kind: string,
  files: PublishFile[],
  meta: Record<string, unknown>,
): Promise<ObjectManifest> {
  return putManifest(store, bucket, prefix, kind, await putFiles(store, bucket, prefix, files), meta);
}

/**
 * The data half of {@link publish}: writes `files` under `prefix` one at a time and returns their manifest
 * entries. Until {@link putManifest} names them, the objects are not published.
 */
export async function putFiles(
  store: ObjectStore,
  bucket: BucketId,
  prefix: string,
  files: PublishFile[],
): Promise<ManifestFile[]> {
  assertPrefix(prefix);
  const entries: ManifestFile[] = [];
  for (const f of files) {
    if (f.name === MANIFEST_NAME) throw new StageError('internal', `${MANIFEST_NAME} is reserved`);
    const key = join(prefix, f.name);
    const body = typeof f.body === 'function' ? await f.body() : f.body;
    const res = await store.put(bucket, key, body, {
      contentType: f.contentType,
      ...(f.size !== undefined ? { size: f.size } : {}),
    });
    entries.push({ name: f.name, key, sha256: res.sha256, size: res.size, contentType: f.contentType });
  }
  return entries;
}

/** The last step of {@link publish}: the manifest over files written by {@link putFiles}. */
export async function putManifest(
  store: ObjectStore,
  bucket: BucketId,
  prefix: string,
  kind: string,
  files: ManifestFile[],
  meta: Record<string, unknown>,
): Promise<ObjectManifest> {
  assertPrefix(prefix);
  const manifest: ObjectManifest = {
    schema: MANIFEST_SCHEMA,
    kind,
    prefix,
    files,
    publishedAt: new Date().toISOString(),
    meta,
  };
  await store.put(bucket, join(prefix, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: 'application/json',
  });
  return manifest;
}

/** The manifest of a published prefix, checked with `schema`; null when the prefix is not published. */
export async function readManifest<S extends z.ZodType = typeof ObjectManifest>(
  store: ObjectStore,
  bucket: BucketId,
  prefix: string,
  schema?: S,
): Promise<z.output<S> | null> {
  try {
    return await getJson(store, bucket, join(prefix, MANIFEST_NAME), (schema ?? ObjectManifest) as S);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
}

/** Re-reads every file of a manifest and checks size and sha256. Returns the names that do not match. */
export async function verifyManifest(
  store: ObjectStore,
  bucket: BucketId,
  manifest: ObjectManifest,
): Promise<string[]> {
  const bad: string[] = [];
  for (const f of manifest.files) {
    try {
      const tap = hashingTap();
      const src = await store.get(bucket, f.key);
      for await (const _ of src.pipe(tap)) {
        // drain
      }
      const d = tap.digest();
      if (d.sha256 !== f.sha256 || d.size !== f.size) bad.push(f.name);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) bad.push(f.name);
      else throw err;
    }
  }
  return bad;
}

/** Reads a JSON object and checks it with `schema`; a document that fails the schema is an integrity error. */
export async function getJson<S extends z.ZodType>(
  store: ObjectStore,
  bucket: BucketId,
  key: string,
  schema: S,
): Promise<z.output<S>> {
  const body = await text(await store.get(bucket, key));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new StageError('integrity', `${store.bucketName(bucket)}/${key} is not valid JSON`);
  }
  const res = schema.safeParse(parsed);
  if (!res.success) {
    throw new StageError(
      'integrity',
      `${store.bucketName(bucket)}/${key} does not match its schema: ${res.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  }
  return res.data;
}
