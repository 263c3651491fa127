import type { StorageConfig } from '../config/index.ts';
import { FolderStore } from './folder-store.ts';
import { MinioStore } from './minio-store.ts';
import type { ObjectStore } from './object-store.ts';

export { FolderStore } from './folder-store.ts';
export { DEFAULT_PART_SIZE, MinioStore } from './minio-store.ts';
export {
  assertKey,
  hashingTap,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStore,
  type PutBody,
  type PutOptions,
  type PutResult,
  sha256Of,
} from './object-store.ts';
export {
  getJson,
  MANIFEST_NAME,
  type PublishFile,
  publish,
  putFiles,
  putManifest,
  readManifest,
  verifyManifest,
} from './publish.ts';

/** The S3 store when MINIO_ENDPOINT is configured, the folder store (embedded default) otherwise. */
export function createObjectStore(config: StorageConfig, opts: { partSize?: number } = {}): ObjectStore {
  return config.kind === 's3'
    ? new MinioStore(config, opts)
    : new FolderStore(config.root, config.bucketPrefix);
}
