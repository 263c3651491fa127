import { type Kysely, sql } from 'kysely';

// LLM stages: a result cache and the idempotency keys of generation tasks.

export async function up(db: Kysely<any>): Promise<void> {
  // One row per (model, prompt version, input) that produced a schema-valid answer.
  await db.schema
    .createTable('llm_cache')
    .addColumn('key', 'text', (c) => c.primaryKey().check(sql`key ~ '^[a-f0-9]{64}$'`))
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('prompt_version', 'text', (c) => c.notNull())
    .addColumn('output', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Generation tasks whose answer stayed invalid after the repair retry: recorded so a re-run does not
  // ask again, with the raw output kept for inspection.
  await db.schema
    .createTable('llm_rejections')
    .addColumn('task_key', 'text', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull().references('pipeline_runs.id').onDelete('cascade'))
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('prompt_version', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('raw_output', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema.alterTable('generated_items').addColumn('task_key', 'text').execute();
  await db.schema
    .alterTable('generated_items')
    .addColumn('suspicious', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema
    .createIndex('generated_items_task_key_idx')
    .on('generated_items')
    .column('task_key')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('generated_items_task_key_idx').ifExists().execute();
  await db.schema.alterTable('generated_items').dropColumn('suspicious').execute();
  await db.schema.alterTable('generated_items').dropColumn('task_key').execute();
  await db.schema.dropTable('llm_rejections').ifExists().execute();
  await db.schema.dropTable('llm_cache').ifExists().execute();
}
