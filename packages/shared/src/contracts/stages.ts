import { z } from 'zod';
import { MediaId, RunId, StageName } from './ids.ts';

/**
 * What each stage takes (after argv parsing) and what it reports (its XCom summary).
 * Stages read their real inputs from MinIO/DB; these are the small control-plane messages.
 */

/** A media source: http(s) URL, s3://bucket/key, or a local path (file:// or absolute/relative path). */
export const SourceUri = z.string().min(1).max(4096);

export const MEDIA_REJECT_REASONS = [
  'not_audio',
  'corrupt',
  'empty',
  'too_long',
  'too_short',
  'too_large',
  'silent',
  'low_quality',
  'unreachable',
  'refused_address',
  'refused_scheme',
  'refused_path',
  'not_found',
] as const;
export const MediaRejectReason = z.enum(MEDIA_REJECT_REASONS);
export type MediaRejectReason = z.infer<typeof MediaRejectReason>;

// --- inputs ---------------------------------------------------------------------------------------
export const IngestInput = z.object({ runId: RunId, sources: z.array(SourceUri).min(1).max(10_000) });
export const TranscribeInput = z.object({
  runId: RunId,
  /** A batch from the ingest summary (mapped task); absent = every ready media item of the run. */
  mediaIds: z.array(MediaId).max(10_000).optional(),
});
export const ClassifyInput = z.object({ runId: RunId });
export const ParaphraseInput = z.object({ runId: RunId });
export const ValidateInput = z.object({ runId: RunId });
export const ExportInput = z.object({ runId: RunId, release: z.boolean().default(true) });

// --- summaries (the XCom return value and the last log line) ---------------------------------------
export const StageCounts = z.object({
  in: z.number().int().nonnegative(),
  out: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  /** Already done by an earlier attempt: idempotent re-runs count here. */
  skipped: z.number().int().nonnegative(),
});
export type StageCounts = z.infer<typeof StageCounts>;

export const StageSummary = z.object({
  stage: StageName,
  runId: RunId,
  status: z.enum(['ok', 'failed', 'interrupted']),
  attempt: z.number().int().positive(),
  durationMs: z.number().int().nonnegative(),
  counts: StageCounts,
  /** Reject reason → count. */
  rejections: z.record(z.string(), z.number().int().nonnegative()).default({}),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type StageSummary = z.infer<typeof StageSummary>;

export const IngestSummary = StageSummary.extend({ mediaIds: z.array(MediaId) });
export const TranscribeSummary = StageSummary.extend({
  transcriptIds: z.array(z.string()),
  segmentCount: z.number().int().nonnegative(),
});
export const ExportSummary = StageSummary.extend({
  releaseId: z.string().nullable(),
  manifestKey: z.string().nullable(),
});
