import { type Kysely, sql } from 'kysely';

// Validation fingerprints (duplicate detection across the whole corpus) and release content.

export async function up(db: Kysely<any>): Promise<void> {
  // One row per approved item: the normalised-text hash (exact duplicates) and a MinHash signature.
  await db.schema
    .createTable('content_fingerprints')
    .addColumn('item_id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('exact_hash', 'text', (c) => c.notNull())
    .addColumn('minhash', 'jsonb', (c) => c.notNull())
    // The shingle set itself: LSH finds candidates, the exact Jaccard on shingles decides.
    .addColumn('shingles', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('content_fingerprints_exact_idx')
    .on('content_fingerprints')
    .columns(['kind', 'exact_hash'])
    .execute();
  // Locality-sensitive hashing bands of the MinHash: near-duplicate candidates share a band.
  await db.schema
    .createTable('fingerprint_bands')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('band', 'integer', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('item_id', 'text', (c) =>
      c.notNull().references('content_fingerprints.item_id').onDelete('cascade'),
    )
    .addPrimaryKeyConstraint('fingerprint_bands_pkey', ['kind', 'band', 'hash', 'item_id'])
    .execute();

  // Released content, stored once per version of an item; export_items says which release holds which.
  await db.schema
    .createTable('release_content')
    .addColumn('content_sha256', 'text', (c) => c.primaryKey())
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('content', 'jsonb', (c) => c.notNull())
    .execute();
  await db.schema
    .alterTable('exports')
    .addColumn('item_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // Release files are written in one pass in (kind, item) order.
  await db.schema
    .createIndex('export_items_kind_idx')
    .on('export_items')
    .columns(['export_id', 'kind', 'item_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('export_items_kind_idx').ifExists().execute();
  await db.schema.alterTable('exports').dropColumn('item_count').execute();
  await db.schema.dropTable('release_content').ifExists().execute();
  await db.schema.dropTable('fingerprint_bands').ifExists().execute();
  await db.schema.dropTable('content_fingerprints').ifExists().execute();
}
