import type { Kysely } from 'kysely';

// exports.composition: a release's items grouped by (kind, run, model, prompt version) with a count. An
// export computes the next release's counts, source runs and provenance from the previous release's
// composition and the change it writes, instead of grouping every live item of the head again (a pass
// that grows with the corpus). Null for releases written before this migration: the export then groups
// the head once, and records the result.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('exports').addColumn('composition', 'jsonb').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('exports').dropColumn('composition').execute();
}
