import fs from 'node:fs';
import { countPhantomAttempts } from '@pronielts/shared/db';
import { type StageContext, StageError, type StageResult } from '@pronielts/shared/stage';
import { anomalies, attempts, type CheckResult, completeness, freshness } from './checks.ts';
import type { QualityEnv } from './quality.env.ts';
import {
  countAbandonedAttempts,
  findLatestRelease,
  findStuckMedia,
  REJECTION_SOURCES,
  type RejectionSource,
  rejectionCounts,
} from './quality.repository.ts';

/**
 * `pronielts-exporter quality-check`: completeness, freshness, anomaly and attempt checks over the
 * automation DB.
 * All checks pass → exit 0 with the metrics as the summary. Any fails → one error log line per failed
 * check, the same lines as the pod's termination message, and exit 3 (check_failed: not retried).
 */
export async function qualityCheck(ctx: StageContext<{ runId: string }, QualityEnv>): Promise<StageResult> {
  const { db, env, log } = ctx;
  const now = new Date();
  const windowStart = new Date(now.getTime() - env.QUALITY_WINDOW_HOURS * 3_600_000);
  const baselineStart = new Date(windowStart.getTime() - env.QUALITY_BASELINE_DAYS * 86_400_000);

  const bySource: Record<string, Awaited<ReturnType<typeof rejectionCounts>>> = {};
  for (const source of Object.keys(REJECTION_SOURCES) as RejectionSource[]) {
    bySource[source] = await rejectionCounts(db, source, windowStart, baselineStart);
  }
  const results: CheckResult[] = [
    completeness(
      await findStuckMedia(db, new Date(now.getTime() - env.QUALITY_STUCK_MINUTES * 60_000)),
      env.QUALITY_STUCK_MINUTES,
      now,
    ),
    freshness(await findLatestRelease(db), env.QUALITY_MAX_RELEASE_AGE_HOURS, now),
    anomalies(bySource, {
      windowHours: env.QUALITY_WINDOW_HOURS,
      minSamples: env.QUALITY_MIN_SAMPLES,
      factor: env.QUALITY_SPIKE_FACTOR,
      minIncrease: env.QUALITY_SPIKE_MIN_INCREASE,
      maxRate: env.QUALITY_MAX_REJECTION_RATE,
    }),
    attempts(
      {
        abandoned: await countAbandonedAttempts(db, windowStart),
        // Liveness is a PostgreSQL session lock; the embedded database is one process's, swept at each start.
        phantoms: env.DATABASE_URL ? await countPhantomAttempts(db) : null,
      },
      env.QUALITY_WINDOW_HOURS,
    ),
  ];

  const failed = results.filter((r) => !r.ok);
  for (const r of results) {
    if (r.ok) log.info({ check: r.check, metrics: r.metrics }, `${r.check}: ok (${r.detail})`);
    else log.error({ check: r.check, metrics: r.metrics }, r.detail);
  }
  if (failed.length > 0) {
    writeTerminationMessage(env.QUALITY_TERMINATION_LOG, failed.map((r) => r.detail).join('\n'));
    throw new StageError(
      'check_failed',
      `${failed.length} of ${results.length} data-quality checks failed: ${failed.map((r) => r.check).join(', ')}`,
    );
  }
  return {
    counts: { in: results.length, out: results.length, rejected: 0, skipped: 0 },
    extra: {
      checks: results.map((r) => ({ check: r.check, ok: r.ok, detail: r.detail, metrics: r.metrics })),
    },
  };
}

/** Kubernetes shows /dev/termination-log as the container's termination message; Airflow puts it in the task error. */
function writeTerminationMessage(file: string, text: string): void {
  try {
    if (fs.existsSync(file)) fs.writeFileSync(file, text.slice(0, 4000));
  } catch {
    // Not in a pod (or not writable): the log lines already say it.
  }
}
