import { IntEnv, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

const ratio = z.coerce.number().min(0).max(1);

/** Thresholds of `pronielts-exporter quality-check` (the hourly pronielts_quality_check DAG). 0 disables a check. */
export const qualityEnv = stageEnv({
  /** Completeness: ready media older than this without any transcript is stuck. */
  QUALITY_STUCK_MINUTES: IntEnv({ min: 0 }).default(180),
  /** Freshness: the newest complete release may be at most this old. */
  QUALITY_MAX_RELEASE_AGE_HOURS: IntEnv({ min: 0 }).default(48),
  /** Anomalies: the recent window whose rejection rate is compared against the baseline before it. */
  QUALITY_WINDOW_HOURS: IntEnv({ min: 0 }).default(24),
  QUALITY_BASELINE_DAYS: IntEnv({ min: 1 }).default(7),
  /** Fewer decisions than this in the window (or baseline) are too few to call a rate. */
  QUALITY_MIN_SAMPLES: IntEnv({ min: 1 }).default(20),
  /** A spike: the window's rate exceeds both baseline × factor and baseline + increase. */
  QUALITY_SPIKE_FACTOR: z.coerce.number().min(1).default(2),
  QUALITY_SPIKE_MIN_INCREASE: ratio.default(0.2),
  /** Without enough baseline, the window's rate may not exceed this. */
  QUALITY_MAX_REJECTION_RATE: ratio.default(0.6),
  /** Where the failed checks go for Kubernetes (the pod's termination message); written when present. */
  QUALITY_TERMINATION_LOG: z.string().min(1).default('/dev/termination-log'),
});
export type QualityEnv = z.output<typeof qualityEnv>;

export const QUALITY_ENV_HELP = {
  QUALITY_STUCK_MINUTES: 'ready media older than this without a transcript is stuck (default 180; 0 = off)',
  QUALITY_MAX_RELEASE_AGE_HOURS: 'newest release may be at most this old (default 48; 0 = off)',
  QUALITY_WINDOW_HOURS: 'recent window for rejection rates (default 24; 0 = off)',
  QUALITY_BASELINE_DAYS: 'baseline before the window (default 7)',
  QUALITY_MIN_SAMPLES: 'fewest decisions to judge a rate (default 20)',
  QUALITY_SPIKE_FACTOR: 'spike: rate above baseline × this (default 2) …',
  QUALITY_SPIKE_MIN_INCREASE: '… and above baseline + this (default 0.2)',
  QUALITY_MAX_REJECTION_RATE: 'rate limit when the baseline is too small (default 0.6)',
  QUALITY_TERMINATION_LOG: 'file for the failed checks, if it exists (default /dev/termination-log)',
};
