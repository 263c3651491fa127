import { z } from 'zod';

/**
 * Identifiers. Object keys are built only from these validated ids, never from raw user strings.
 */

/** A run id: what Airflow's `{{ run_id }}` becomes after `toRunId`, or a runner-made id. */
export const RunId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.-]{0,127}$/,
    'expected 1-128 chars of [a-z0-9_.-], starting with a letter or digit',
  )
  .refine((s) => !s.includes('..'), 'must not contain ".."')
  .brand<'RunId'>();
export type RunId = z.infer<typeof RunId>;

/** Lowercase hex sha256. Media ids are the sha256 of the source bytes. */
export const Sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'expected a lowercase hex sha256');
export type Sha256 = z.infer<typeof Sha256>;

export const MediaId = Sha256.brand<'MediaId'>();
export type MediaId = z.infer<typeof MediaId>;

export const STAGES = [
  'ingest',
  'transcribe',
  'classify',
  'paraphrase',
  'validate',
  'export',
  'quality',
] as const;
export const StageName = z.enum(STAGES);
export type StageName = z.infer<typeof StageName>;

/**
 * Airflow run ids look like `manual__2026-11-22T10:00:00.123456+00:00`; map them to a RunId
 * deterministically (lowercase, unsafe characters to '-'), so a retried task gets the same id.
 */
export function toRunId(raw: string): RunId {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 128);
  return RunId.parse(cleaned);
}
