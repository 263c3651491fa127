import type { Kysely } from 'kysely';

// generated_items by (run_id, kind) instead of run_id alone: an export reads a run's items one kind at a
// time (one release file per kind), and a kind the run has none of is then one index probe instead of a
// scan of the run's every item. Lookups by run_id alone use the same index.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('generated_items_run_kind_idx')
    .on('generated_items')
    .columns(['run_id', 'kind'])
    .execute();
  await db.schema.dropIndex('generated_items_run_idx').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('generated_items_run_idx').on('generated_items').column('run_id').execute();
  await db.schema.dropIndex('generated_items_run_kind_idx').execute();
}
