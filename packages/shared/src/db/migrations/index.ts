import type { Migration } from 'kysely/migration';
import * as m20261122T000100 from './20261122T000100-init.ts';

/**
 * Every migration, by timestamped name. Kysely runs them in name order and records them in
 * kysely_migration; a static map (not a folder scan) works the same from src/, dist/ and a bundle.
 * A schema change is a new file here, never an edit of an applied one.
 */
export const migrations: Record<string, Migration> = {
  '20261122T000100-init': m20261122T000100,
};
