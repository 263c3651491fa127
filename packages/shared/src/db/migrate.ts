import type { Kysely } from 'kysely';
import { type MigrationResult, Migrator } from 'kysely/migration';
import { migrations } from './migrations/index.ts';

export interface MigrationStep {
  name: string;
  direction: 'Up' | 'Down';
  status: MigrationResult['status'];
}

export interface MigrationReport {
  applied: MigrationStep[];
  /** Names of every migration known to the code, in order. */
  known: string[];
}

function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

function report(results: MigrationResult[] | undefined): MigrationStep[] {
  return (results ?? []).map((r) => ({ name: r.migrationName, direction: r.direction, status: r.status }));
}

/**
 * Brings the schema to the latest migration. A second call is a no-op (applied: []). Kysely's migrator takes
 * a lock table, so concurrent callers (two pods starting together) serialise instead of racing.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationReport> {
  const { error, results } = await migrator(db).migrateToLatest();
  if (error) throw error;
  return { applied: report(results), known: Object.keys(migrations).sort() };
}

export async function migrateDown(db: Kysely<any>): Promise<MigrationReport> {
  const { error, results } = await migrator(db).migrateDown();
  if (error) throw error;
  return { applied: report(results), known: Object.keys(migrations).sort() };
}

export async function migrationStatus(
  db: Kysely<any>,
): Promise<Array<{ name: string; executedAt: Date | null }>> {
  const all = await migrator(db).getMigrations();
  return all.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}

/** Migrations this code knows that the DB has not applied yet. */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  return (await migrationStatus(db)).filter((s) => !s.executedAt).map((s) => s.name);
}
