import { type Kysely, sql } from 'kysely';

// Typed on Kysely<any>: a migration must keep working when today's schema types change.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pipeline_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('running').check(sql`status in ('running', 'succeeded', 'failed')`),
    )
    .addColumn('params', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // One row per stage attempt: what ran, how long, how it ended.
  await db.schema
    .createTable('stage_runs')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('run_id', 'text', (c) => c.notNull().references('pipeline_runs.id').onDelete('cascade'))
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull().check(sql`attempt > 0`))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('running', 'succeeded', 'failed', 'interrupted')`),
    )
    .addColumn('exit_code', 'integer')
    .addColumn('host', 'text')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('duration_ms', 'integer')
    .addColumn('summary', 'jsonb')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addUniqueConstraint('stage_runs_run_stage_attempt_key', ['run_id', 'stage', 'attempt'])
    .execute();

  // Content-addressed media: id = sha256 of the source bytes, so a file ingested twice is one row.
  await db.schema
    .createTable('media')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ '^[a-f0-9]{64}$'`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('ready', 'rejected')`))
    .addColumn('source_uri', 'text', (c) => c.notNull())
    .addColumn('media_type', 'text')
    .addColumn('container', 'text')
    .addColumn('audio_codec', 'text')
    .addColumn('duration_ms', 'integer')
    .addColumn('size_bytes', 'bigint')
    .addColumn('source_key', 'text')
    .addColumn('audio_key', 'text')
    .addColumn('audio_sha256', 'text')
    .addColumn('reject_reason', 'text')
    .addColumn('reject_detail', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Every input of a run and what became of it, including sources rejected before any byte was read.
  await db.schema
    .createTable('run_media')
    .addColumn('run_id', 'text', (c) => c.notNull().references('pipeline_runs.id').onDelete('cascade'))
    .addColumn('source_hash', 'text', (c) => c.notNull())
    .addColumn('source_uri', 'text', (c) => c.notNull())
    .addColumn('media_id', 'text', (c) => c.references('media.id'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('accepted', 'rejected')`))
    .addColumn('reject_reason', 'text')
    .addColumn('reject_detail', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('run_media_pkey', ['run_id', 'source_hash'])
    .execute();
  await db.schema.createIndex('run_media_media_id_idx').on('run_media').column('media_id').execute();

  await db.schema
    .createTable('transcripts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('media_id', 'text', (c) => c.notNull().references('media.id').onDelete('cascade'))
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('ok', 'suspect', 'rejected')`))
    .addColumn('language', 'text')
    .addColumn('duration_ms', 'integer')
    .addColumn('processing_ms', 'integer')
    .addColumn('segment_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('object_key', 'text')
    .addColumn('flags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('reject_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('transcripts_media_model_key', ['media_id', 'model'])
    .execute();

  await db.schema
    .createTable('segments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('transcript_id', 'text', (c) => c.notNull().references('transcripts.id').onDelete('cascade'))
    .addColumn('idx', 'integer', (c) => c.notNull())
    .addColumn('start_ms', 'integer', (c) => c.notNull())
    .addColumn('end_ms', 'integer', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('turn', 'text')
    .addUniqueConstraint('segments_transcript_idx_key', ['transcript_id', 'idx'])
    .addCheckConstraint('segments_times_check', sql`start_ms >= 0 and end_ms >= start_ms`)
    .execute();

  await db.schema
    .createTable('classifications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('segment_id', 'text', (c) => c.notNull().references('segments.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('ok', 'rejected')`))
    .addColumn('part', 'text')
    .addColumn('kind', 'text')
    .addColumn('topic', 'text')
    .addColumn('band', sql`numeric(3,1)`, (c) => c.check(sql`band between 0 and 9`))
    .addColumn('cefr', 'text')
    .addColumn('pronunciation_focus', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('confidence', 'real')
    .addColumn('rationale', 'text')
    .addColumn('suspicious', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('prompt_version', 'text', (c) => c.notNull())
    .addColumn('raw_output', 'text')
    .addColumn('reject_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('classifications_segment_prompt_key', ['segment_id', 'prompt_version'])
    .execute();

  await db.schema
    .createTable('generated_items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull().references('pipeline_runs.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('model_answer', 'drill', 'cue_card', 'follow_up')`),
    )
    .addColumn('source_segment_id', 'text', (c) => c.references('segments.id').onDelete('set null'))
    .addColumn('topic', 'text')
    .addColumn('target_band', sql`numeric(3,1)`)
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('prompt_version', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('generated_items_run_idx').on('generated_items').column('run_id').execute();

  await db.schema
    .createTable('validations')
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('item_type', 'text', (c) =>
      c.notNull().check(sql`item_type in ('generated', 'classification')`),
    )
    .addColumn('rules_version', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('approved', 'rejected')`))
    .addColumn('reasons', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('validated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('validations_pkey', ['item_id', 'rules_version'])
    .execute();

  // A release. Written in one transaction with its items; `complete` only once its manifest is published.
  await db.schema
    .createTable('exports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'complete')`))
    .addColumn('run_ids', 'jsonb', (c) => c.notNull())
    .addColumn('manifest_key', 'text')
    .addColumn('counts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('diff', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('completed_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('export_items')
    .addColumn('export_id', 'text', (c) => c.notNull().references('exports.id').onDelete('cascade'))
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('content_sha256', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('export_items_pkey', ['export_id', 'item_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'export_items',
    'exports',
    'validations',
    'generated_items',
    'classifications',
    'segments',
    'transcripts',
    'run_media',
    'media',
    'stage_runs',
    'pipeline_runs',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
