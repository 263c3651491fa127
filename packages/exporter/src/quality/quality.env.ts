import { IntEnv, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

const ratio = z.coerce.number().min(0).max(1);

/** Thresholds of `pronielts-exporter quality-check` (the hourly pronielts_quality_check DAG). 0 disables a check. */
export const qualityEnv = stageEnv({
  QUALITY_STUCK_MINUTES: IntEnv({ min: 0 })
    .default(180)
    .describe('Completeness: ready media older than this without any transcript is stuck; 0 = off.'),
  QUALITY_MAX_RELEASE_AGE_HOURS: IntEnv({ min: 0 })
    .default(48)
    .describe('Freshness: the newest complete release may be at most this old; 0 = off.'),
  QUALITY_WINDOW_HOURS: IntEnv({ min: 0 })
    .default(24)
    .describe('Anomalies: the recent window whose rejection rate is compared with the baseline; 0 = off.'),
  QUALITY_BASELINE_DAYS: IntEnv({ min: 1 })
    .default(7)
    .describe('The baseline: this many days before the window.'),
  QUALITY_MIN_SAMPLES: IntEnv({ min: 1 })
    .default(20)
    .describe('Fewer decisions than this in the window (or baseline) are too few to call a rate.'),
  QUALITY_SPIKE_FACTOR: z.coerce
    .number()
    .min(1)
    .default(2)
    .describe(
      "A spike: the window's rate exceeds both baseline × this and baseline + QUALITY_SPIKE_MIN_INCREASE.",
    ),
  QUALITY_SPIKE_MIN_INCREASE: ratio.default(0.2).describe('See QUALITY_SPIKE_FACTOR.'),
  QUALITY_MAX_REJECTION_RATE: ratio
    .default(0.6)
    .describe("Without enough baseline, the window's rate may not exceed this."),
  QUALITY_TERMINATION_LOG: z
    .string()
    .min(1)
    .default('/dev/termination-log')
    .describe(
      "Where the failed checks go for Kubernetes (the pod's termination message); written when present.",
    ),
});
export type QualityEnv = z.output<typeof qualityEnv>;
