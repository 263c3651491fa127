import type { Migration } from 'kysely/migration';
import * as m20261122T000100 from './20261122T000100-init.ts';
import * as m20261122T020000 from './20261122T020000-llm.ts';
import * as m20261122T030000 from './20261122T030000-releases.ts';
import * as m20261122T040000 from './20261122T040000-release-items.ts';
import * as m20261122T050000 from './20261122T050000-release-item-collation.ts';
import * as m20261122T060000 from './20261122T060000-generated-items-run-kind.ts';
import * as m20261122T070000 from './20261122T070000-release-composition.ts';
import * as m20261122T080000 from './20261122T080000-release-sets.ts';
import * as m20261204T000000 from './20261204T000000-stage-run-statuses.ts';
import * as m20261205T000000 from './20261205T000000-validation-needs-review.ts';

/**
 * Every migration, by timestamped name. Kysely runs them in name order and records them in
 * kysely_migration; a static map (not a folder scan) works the same from src/, dist/ and a bundle.
 */
export const migrations: Record<string, Migration> = {
  '20261122T000100-init': m20261122T000100,
  '20261122T020000-llm': m20261122T020000,
  '20261122T030000-releases': m20261122T030000,
  '20261122T040000-release-items': m20261122T040000,
  '20261122T050000-release-item-collation': m20261122T050000,
  '20261122T060000-generated-items-run-kind': m20261122T060000,
  '20261122T070000-release-composition': m20261122T070000,
  '20261122T080000-release-sets': m20261122T080000,
  '20261204T000000-stage-run-statuses': m20261204T000000,
  '20261205T000000-validation-needs-review': m20261205T000000,
};
