import { z } from 'zod';
import { MediaId, RunId, Sha256 } from './ids.ts';
import { GENERATED_KINDS } from './rows.ts';

/**
 * Object-storage documents. Every published prefix ends with a `manifest.json`, written last, that lists
 * its data objects with sha256 and size; a prefix without a manifest is not published (readers ignore it).
 */

export const MANIFEST_SCHEMA = 'pronielts.manifest/v1';

export const ManifestFile = z.object({
  /** Name inside the prefix, e.g. `audio.wav`. */
  name: z.string().min(1),
  /** Full object key in the bucket. */
  key: z.string().min(1),
  sha256: Sha256,
  size: z.number().int().nonnegative(),
  contentType: z.string().min(1),
});
export type ManifestFile = z.infer<typeof ManifestFile>;

export const ObjectManifest = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  kind: z.string().min(1),
  prefix: z.string().min(1),
  files: z.array(ManifestFile),
  publishedAt: z.iso.datetime(),
  meta: z.record(z.string(), z.unknown()),
});
export type ObjectManifest = z.infer<typeof ObjectManifest>;

/** A manifest whose `meta` is checked with a kind-specific schema. */
export function manifestOf<K extends string, M extends z.ZodType>(kind: K, meta: M) {
  return ObjectManifest.extend({ kind: z.literal(kind), meta });
}

// --- pronielts-raw/<media-id>/ ---------------------------------------------------------------------
export const RawMediaMeta = z.object({
  mediaId: MediaId,
  /** The source as given, with any credentials removed. */
  sourceUri: z.string(),
  mediaType: z.enum(['audio', 'video']),
  container: z.string(),
  audioCodec: z.string(),
  sourceDurationMs: z.number().int().nonnegative(),
  /** Normalised audio: always 16 kHz mono s16le WAV. */
  audio: z.object({
    sampleRate: z.literal(16000),
    channels: z.literal(1),
    sampleFormat: z.literal('s16'),
    durationMs: z.number().int().nonnegative(),
  }),
});
export const RawMediaManifest = manifestOf('raw-media', RawMediaMeta);
export type RawMediaManifest = z.infer<typeof RawMediaManifest>;

// --- pronielts-transcriptions/<media-id>/<model>/ ---------------------------------------------------
export const TranscriptWord = z.object({
  text: z.string(),
  startMs: z.number().int().nonnegative(),
  endMs: z.number().int().nonnegative(),
  p: z.number().min(0).max(1).optional(),
});

export const TranscriptSegment = z.object({
  startMs: z.number().int().nonnegative(),
  endMs: z.number().int().nonnegative(),
  text: z.string(),
  words: z.array(TranscriptWord).optional(),
  /** Flagged by the hallucination guard (text over silence, repetition, stock phrases). */
  suspect: z.boolean().optional(),
});

export const TranscriptDocument = z.object({
  mediaId: MediaId,
  model: z.string().min(1),
  language: z.string().min(2),
  durationMs: z.number().int().nonnegative(),
  processingMs: z.number().int().nonnegative(),
  segments: z.array(TranscriptSegment).min(1),
  /** Quality flags, e.g. `hallucination_suspected`. */
  flags: z.array(z.string()),
});
export type TranscriptDocument = z.infer<typeof TranscriptDocument>;

// --- pronielts-processed/releases/<release-id>/ -----------------------------------------------------
export const ReleaseManifestMeta = z.object({
  releaseId: z.string().regex(/^rel_[a-f0-9]{16,64}$/),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  sourceRunIds: z.array(RunId),
  models: z.array(z.string()),
  promptVersions: z.array(z.string()),
  /**
   * How the quality gate judged the source runs' items: by status (approved, needs_review, rejected)
   * and, per status, the items each rule fired on.
   */
  validation: z
    .object({
      byStatus: z.record(z.string(), z.number().int().nonnegative()),
      byRule: z.record(z.string(), z.record(z.string(), z.number().int().nonnegative())),
    })
    .optional(),
});
export const ReleaseManifest = manifestOf('release', ReleaseManifestMeta);
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;

/**
 * One line of a release's generated-content files (`model_answers.jsonl`, `drills.jsonl`,
 * `cue_cards.jsonl`, `follow_ups.jsonl`): the item's own fields, and the content the model wrote, as the
 * schema of its kind checked it, under `payload`.
 */
export const GeneratedReleaseLine = z.strictObject({
  id: z.string().min(1),
  kind: z.enum(GENERATED_KINDS),
  run_id: RunId,
  topic: z.string().nullable(),
  target_band: z.number().min(0).max(9).nullable(),
  source_segment_id: z.string().nullable(),
  model: z.string().min(1),
  prompt_version: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
});
export type GeneratedReleaseLine = z.infer<typeof GeneratedReleaseLine>;

/** One line of `segments.jsonl`: a classified segment of a transcript. */
export const SegmentReleaseLine = z.strictObject({
  id: z.string().min(1),
  kind: z.literal('segment'),
  run_id: RunId,
  text: z.string(),
  part: z.string().nullable(),
  segment_kind: z.string().nullable(),
  topic: z.string().nullable(),
  band: z.number().min(0).max(9).nullable(),
  cefr: z.string().nullable(),
  pronunciation_focus: z.array(z.string()),
  model: z.string().min(1),
  prompt_version: z.string().min(1),
  start_ms: z.number().int().nonnegative(),
  end_ms: z.number().int().nonnegative(),
  /** The segmenter's turn, measured from the audio (the LLM's opinion is `segment_kind`). */
  turn: z.enum(['question', 'answer']).nullable(),
  /** Published but flagged: rules about its labels fired (docs/quality-gate.md); `review` says which. */
  needs_review: z.boolean(),
  review: z.array(z.object({ rule: z.string(), detail: z.string() })),
});
export type SegmentReleaseLine = z.infer<typeof SegmentReleaseLine>;

export const ReleaseLine = z.discriminatedUnion('kind', [GeneratedReleaseLine, SegmentReleaseLine]);
export type ReleaseLine = z.infer<typeof ReleaseLine>;
