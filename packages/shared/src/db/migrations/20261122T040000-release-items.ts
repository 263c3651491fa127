import { type Kysely, sql } from 'kysely';

// Releases as a chain of versions (docs/decisions/0009-exporter.md, "Releases v2").
//
// A release is a sequence number on `exports`; `release_items` holds one row per version of an item with
// the release that added it and the release that retired it. Release S holds every version with
// added_seq <= S and (removed_seq is null or removed_seq > S). An export therefore writes only what
// changed (the run's new and retired versions), never the whole corpus again, and never copies the
// content of generated items (immutable: their id names their content); segment versions keep a content
// snapshot because classifications can be revised in place.
//
// Replaces export_items (membership per release) and release_content (a content copy per version).
// Those held only releases of the pre-1.0 exporter; the migration refuses to drop them if any exist.

export async function up(db: Kysely<any>): Promise<void> {
  const legacy = await sql<{ n: string }>`select count(*)::text as n from export_items`.execute(db);
  if (Number(legacy.rows[0]?.n ?? 0) > 0)
    throw new Error(
      'export_items holds releases of the pre-1.0 exporter; export them elsewhere and empty export_items and exports before migrating',
    );
  await db.schema.dropTable('export_items').execute();
  await db.schema.dropTable('release_content').execute();
  await db.deleteFrom('exports').execute();

  await db.schema
    .alterTable('exports')
    .addColumn('seq', 'integer', (c) => c.notNull().unique())
    .addColumn('previous_id', 'text')
    .execute();

  await db.schema
    .createTable('release_items')
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('added_seq', 'integer', (c) => c.notNull())
    .addColumn('removed_seq', 'integer')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('model', 'text')
    .addColumn('prompt_version', 'text')
    // sha256 of the canonical content for versions with a snapshot; null for generated items.
    .addColumn('content_sha256', 'text')
    .addColumn('content', 'jsonb')
    .addPrimaryKeyConstraint('release_items_pkey', ['item_id', 'added_seq'])
    .execute();
  // The newest release ("head"): at most one live version per item.
  await sql`create unique index release_items_head on release_items (item_id) where removed_seq is null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('release_items').ifExists().execute();
  await db.deleteFrom('exports').execute();
  await db.schema.alterTable('exports').dropColumn('previous_id').dropColumn('seq').execute();
  await db.schema
    .createTable('release_content')
    .addColumn('content_sha256', 'text', (c) => c.primaryKey())
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('content', 'jsonb', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('export_items')
    .addColumn('export_id', 'text', (c) => c.notNull().references('exports.id').onDelete('cascade'))
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('content_sha256', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('export_items_pkey', ['export_id', 'item_id'])
    .execute();
  await db.schema
    .createIndex('export_items_kind_idx')
    .on('export_items')
    .columns(['export_id', 'kind', 'item_id'])
    .execute();
}
