export type { Database } from '../contracts/rows.ts';
export { type Db, type OpenDbOptions, openDb } from './connect.ts';
export {
  type MigrationReport,
  type MigrationStep,
  migrateDown,
  migrateToLatest,
  migrationStatus,
  pendingMigrations,
} from './migrate.ts';
export { migrateCli } from './migrate-command.ts';
export * from './repositories/classifications.repository.ts';
export * from './repositories/generated-items.repository.ts';
export * from './repositories/media.repository.ts';
export * from './repositories/pipeline-runs.repository.ts';
export * from './repositories/stage-runs.repository.ts';
export * from './repositories/transcripts.repository.ts';
