import { type Kysely, sql } from 'kysely';

// The automation DB (docs/decisions/0004-database.md). Typed on Kysely<any>: a migration must keep
// working when today's schema types change. One statement per entry: the embedded database (PGlite)
// runs one statement per query.
const STATEMENTS = [
  // A pipeline run (an Airflow DAG run or a runner invocation). How it is going is its stage_runs; the
  // DAG run's state is Airflow's, and a copy here would only drift from it.
  `create table pipeline_runs (
     id text primary key,
     params jsonb not null default '{}'::jsonb,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now())`,

  // One row per stage attempt: what ran, how long, how it ended. `stopped`: stopped by a signal, its work
  // did not wind down within the grace period; `abandoned`: its process ended without recording how (a
  // later attempt of the same stage and run found it so).
  `create table stage_runs (
     id bigint generated always as identity primary key,
     run_id text not null references pipeline_runs (id) on delete cascade,
     stage text not null,
     attempt integer not null check (attempt > 0),
     status text not null
       check (status in ('running', 'succeeded', 'failed', 'interrupted', 'stopped', 'abandoned')),
     exit_code integer,
     host text,
     started_at timestamptz not null default now(),
     finished_at timestamptz,
     duration_ms integer,
     summary jsonb,
     error_code text,
     error_message text,
     constraint stage_runs_run_stage_attempt_key unique (run_id, stage, attempt))`,

  // Content-addressed media: id = sha256 of the source bytes, so a file ingested twice is one row.
  `create table media (
     id text primary key check (id ~ '^[a-f0-9]{64}$'),
     status text not null check (status in ('ready', 'rejected')),
     source_uri text not null,
     media_type text,
     container text,
     audio_codec text,
     duration_ms integer,
     size_bytes bigint,
     source_key text,
     audio_key text,
     audio_sha256 text,
     reject_reason text,
     reject_detail text,
     created_at timestamptz not null default now(),
     updated_at timestamptz not null default now())`,

  // Every input of a run and what became of it, including sources rejected before any byte was read.
  `create table run_media (
     run_id text not null references pipeline_runs (id) on delete cascade,
     source_hash text not null,
     source_uri text not null,
     media_id text references media (id),
     status text not null check (status in ('accepted', 'rejected')),
     reject_reason text,
     reject_detail text,
     created_at timestamptz not null default now(),
     primary key (run_id, source_hash))`,
  `create index run_media_media_id_idx on run_media (media_id)`,

  `create table transcripts (
     id text primary key,
     media_id text not null references media (id) on delete cascade,
     model text not null,
     status text not null check (status in ('ok', 'suspect', 'rejected')),
     language text,
     duration_ms integer,
     processing_ms integer,
     segment_count integer not null default 0,
     object_key text,
     flags jsonb not null default '[]'::jsonb,
     reject_reason text,
     created_at timestamptz not null default now(),
     constraint transcripts_media_model_key unique (media_id, model))`,

  `create table segments (
     id text primary key,
     transcript_id text not null references transcripts (id) on delete cascade,
     idx integer not null,
     start_ms integer not null,
     end_ms integer not null,
     text text not null,
     turn text,
     constraint segments_transcript_idx_key unique (transcript_id, idx),
     constraint segments_times_check check (start_ms >= 0 and end_ms >= start_ms))`,

  `create table classifications (
     id text primary key,
     segment_id text not null references segments (id) on delete cascade,
     status text not null check (status in ('ok', 'rejected')),
     part text,
     kind text,
     topic text,
     band numeric(3,1) check (band between 0 and 9),
     cefr text,
     pronunciation_focus jsonb not null default '[]'::jsonb,
     confidence real,
     rationale text,
     suspicious boolean not null default false,
     model text not null,
     prompt_version text not null,
     raw_output text,
     reject_reason text,
     created_at timestamptz not null default now(),
     constraint classifications_segment_prompt_key unique (segment_id, prompt_version))`,

  // task_key: the idempotency key of the generation task that made the item.
  `create table generated_items (
     id text primary key,
     run_id text not null references pipeline_runs (id) on delete cascade,
     kind text not null check (kind in ('model_answer', 'drill', 'cue_card', 'follow_up')),
     source_segment_id text references segments (id) on delete set null,
     topic text,
     target_band numeric(3,1),
     payload jsonb not null,
     model text not null,
     prompt_version text not null,
     task_key text,
     suspicious boolean not null default false,
     created_at timestamptz not null default now())`,
  `create index generated_items_run_kind_idx on generated_items (run_id, kind)`,
  `create index generated_items_task_key_idx on generated_items (task_key)`,

  // One row per (model, prompt version, input) that produced a schema-valid answer.
  `create table llm_cache (
     key text primary key check (key ~ '^[a-f0-9]{64}$'),
     task text not null,
     model text not null,
     prompt_version text not null,
     output jsonb not null,
     created_at timestamptz not null default now())`,
  // Generation tasks whose answer stayed invalid after the repair retry: recorded so a re-run does not
  // ask again, with the raw output kept for inspection.
  `create table llm_rejections (
     task_key text primary key,
     run_id text not null references pipeline_runs (id) on delete cascade,
     task text not null,
     subject text not null,
     model text not null,
     prompt_version text not null,
     reason text not null,
     detail text not null,
     raw_output text,
     created_at timestamptz not null default now())`,

  // The quality gate's verdict per item and rules version. needs_review: only rules whose outcome is
  // "review" fired; the item is published, flagged.
  `create table validations (
     item_id text not null,
     item_type text not null check (item_type in ('generated', 'classification')),
     rules_version text not null,
     status text not null check (status in ('approved', 'rejected', 'needs_review')),
     reasons jsonb not null default '[]'::jsonb,
     validated_at timestamptz not null default now(),
     primary key (item_id, rules_version))`,

  // One row per approved item: the normalised-text hash (exact duplicates), a MinHash signature and
  // the shingle set (LSH finds near-duplicate candidates, the exact Jaccard on shingles decides).
  `create table content_fingerprints (
     item_id text primary key,
     kind text not null,
     exact_hash text not null,
     minhash jsonb not null,
     shingles jsonb not null,
     created_at timestamptz not null default now())`,
  `create index content_fingerprints_exact_idx on content_fingerprints (kind, exact_hash)`,
  // Locality-sensitive hashing bands of the MinHash: near-duplicate candidates share a band.
  `create table fingerprint_bands (
     kind text not null,
     band integer not null,
     hash text not null,
     item_id text not null references content_fingerprints (item_id) on delete cascade,
     primary key (kind, band, hash, item_id))`,

  // A release: its files under pronielts-processed/releases/<id>/ are the content; this row records it.
  // `publishing` while the files are written, `complete` once the manifest is (docs/decisions/0009).
  `create table releases (
     id text primary key,
     seq integer not null unique check (seq > 0),
     previous_id text references releases (id),
     status text not null check (status in ('publishing', 'complete')),
     run_ids jsonb not null,
     rules_version text not null,
     counts jsonb not null default '{}'::jsonb,
     run_counts jsonb not null default '{}'::jsonb,
     item_count integer not null default 0,
     diff jsonb not null default '{}'::jsonb,
     manifest_key text,
     created_at timestamptz not null default now(),
     completed_at timestamptz)`,
];

const TABLES = [
  'releases',
  'fingerprint_bands',
  'content_fingerprints',
  'validations',
  'llm_rejections',
  'llm_cache',
  'generated_items',
  'classifications',
  'segments',
  'transcripts',
  'run_media',
  'media',
  'stage_runs',
  'pipeline_runs',
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of STATEMENTS) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) await db.schema.dropTable(table).ifExists().execute();
}
