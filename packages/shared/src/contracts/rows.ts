import type { ColumnType, Generated, JSONColumnType, Selectable } from 'kysely';
import { z } from 'zod';

/**
 * Row types of the automation DB (one interface per table, mapped in `Database`). They mirror the
 * migrations in `db/migrations`; old migrations are typed on Kysely<any> and never import these.
 */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** A nullable column: optional on insert (defaults to NULL). */
type Opt<T> = ColumnType<T | null, T | null | undefined, T | null>;
/** A column with a DB default: optional on insert. */
type Def<T> = ColumnType<T, T | undefined, T>;

export const STAGE_RUN_STATUSES = [
  'running',
  'succeeded',
  'failed',
  'interrupted',
  'stopped',
  'abandoned',
] as const;
export const StageRunStatus = z.enum(STAGE_RUN_STATUSES);
export type StageRunStatus = z.infer<typeof StageRunStatus>;

export interface PipelineRunsTable {
  id: string;
  params: JSONColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface StageRunsTable {
  id: Generated<string>;
  run_id: string;
  stage: string;
  attempt: number;
  status: StageRunStatus;
  exit_code: Opt<number>;
  host: Opt<string>;
  started_at: CreatedAt;
  finished_at: Opt<Date | string>;
  duration_ms: Opt<number>;
  summary: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  error_code: Opt<string>;
  error_message: Opt<string>;
}

export interface MediaTable {
  id: string;
  status: 'ready' | 'rejected';
  source_uri: string;
  media_type: Opt<string>;
  container: Opt<string>;
  audio_codec: Opt<string>;
  duration_ms: Opt<number>;
  size_bytes: Opt<number | string>;
  source_key: Opt<string>;
  audio_key: Opt<string>;
  audio_sha256: Opt<string>;
  reject_reason: Opt<string>;
  reject_detail: Opt<string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface RunMediaTable {
  run_id: string;
  source_hash: string;
  source_uri: string;
  media_id: Opt<string>;
  status: 'accepted' | 'rejected';
  reject_reason: Opt<string>;
  reject_detail: Opt<string>;
  created_at: CreatedAt;
}

export interface TranscriptsTable {
  id: string;
  media_id: string;
  model: string;
  status: 'ok' | 'suspect' | 'rejected';
  language: Opt<string>;
  duration_ms: Opt<number>;
  processing_ms: Opt<number>;
  segment_count: Def<number>;
  object_key: Opt<string>;
  flags: JSONColumnType<string[], string | undefined, string>;
  reject_reason: Opt<string>;
  created_at: CreatedAt;
}

export interface SegmentsTable {
  id: string;
  transcript_id: string;
  idx: number;
  start_ms: number;
  end_ms: number;
  text: string;
  turn: Opt<string>;
}

export interface ClassificationsTable {
  id: string;
  segment_id: string;
  status: 'ok' | 'rejected';
  part: Opt<string>;
  kind: Opt<string>;
  topic: Opt<string>;
  band: Opt<number | string>;
  cefr: Opt<string>;
  pronunciation_focus: JSONColumnType<string[], string | undefined, string>;
  confidence: Opt<number>;
  rationale: Opt<string>;
  suspicious: ColumnType<boolean, boolean | undefined, boolean>;
  model: string;
  prompt_version: string;
  raw_output: Opt<string>;
  reject_reason: Opt<string>;
  created_at: CreatedAt;
}

export const GENERATED_KINDS = ['model_answer', 'drill', 'cue_card', 'follow_up'] as const;
export type GeneratedKind = (typeof GENERATED_KINDS)[number];

export interface GeneratedItemsTable {
  id: string;
  run_id: string;
  kind: GeneratedKind;
  source_segment_id: Opt<string>;
  topic: Opt<string>;
  target_band: Opt<number | string>;
  payload: JSONColumnType<Record<string, unknown>, string, string>;
  model: string;
  prompt_version: string;
  /** Idempotency key of the generation task that made this item. */
  task_key: Opt<string>;
  suspicious: Def<boolean>;
  created_at: CreatedAt;
}

export interface LlmCacheTable {
  key: string;
  task: string;
  model: string;
  prompt_version: string;
  output: ColumnType<unknown, string, string>;
  created_at: CreatedAt;
}

export interface LlmRejectionsTable {
  task_key: string;
  run_id: string;
  task: string;
  subject: string;
  model: string;
  prompt_version: string;
  reason: string;
  detail: string;
  raw_output: Opt<string>;
  created_at: CreatedAt;
}

export interface ValidationsTable {
  item_id: string;
  item_type: 'generated' | 'classification';
  rules_version: string;
  status: 'approved' | 'rejected' | 'needs_review';
  reasons: JSONColumnType<Array<{ rule: string; detail: string }>, string, string>;
  validated_at: CreatedAt;
}

/**
 * A release: immutable files under `pronielts-processed/releases/<id>/` (the content) and this row. A row
 * is `publishing` while its files are written and `complete` once its manifest is.
 */
export interface ReleasesTable {
  id: string;
  /** Position in the chain of releases: 1, 2, 3… */
  seq: number;
  previous_id: Opt<string>;
  status: 'publishing' | 'complete';
  /** Every run whose items the release holds (a release is cumulative). */
  run_ids: JSONColumnType<string[], string, string>;
  rules_version: string;
  /** Items per kind. */
  counts: JSONColumnType<Record<string, number>, string | undefined, string>;
  /** Items per source run. */
  run_counts: JSONColumnType<Record<string, number>, string | undefined, string>;
  item_count: Def<number>;
  /** Against the previous release: `{previousReleaseId, added, changed, removed}`. */
  diff: JSONColumnType<Record<string, unknown>, string | undefined, string>;
  manifest_key: Opt<string>;
  created_at: CreatedAt;
  completed_at: Opt<Date | string>;
}

export interface Database {
  pipeline_runs: PipelineRunsTable;
  stage_runs: StageRunsTable;
  media: MediaTable;
  run_media: RunMediaTable;
  transcripts: TranscriptsTable;
  segments: SegmentsTable;
  classifications: ClassificationsTable;
  generated_items: GeneratedItemsTable;
  validations: ValidationsTable;
  releases: ReleasesTable;
  llm_cache: LlmCacheTable;
  llm_rejections: LlmRejectionsTable;
  content_fingerprints: ContentFingerprintsTable;
  fingerprint_bands: FingerprintBandsTable;
}

export interface ContentFingerprintsTable {
  item_id: string;
  kind: string;
  exact_hash: string;
  minhash: JSONColumnType<number[], string, string>;
  shingles: JSONColumnType<string[], string, string>;
  created_at: CreatedAt;
}

export interface FingerprintBandsTable {
  kind: string;
  band: number;
  hash: string;
  item_id: string;
}

export type StageRun = Selectable<StageRunsTable>;
export type Media = Selectable<MediaTable>;
