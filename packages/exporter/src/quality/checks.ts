import type { RateCounts } from './quality.repository.ts';

/**
 * The data-quality rules as pure functions: metrics in, a verdict with one readable line out.
 * The lines are what an operator reads in the task log and the pod's termination message.
 */

export type CheckName = 'completeness' | 'freshness' | 'anomalies' | 'attempts';

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  /** One line saying what was found; for a failure, what is wrong. */
  detail: string;
  metrics: Record<string, unknown>;
}

const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;
const pct = (r: number) => `${(r * 100).toFixed(0)}%`;

export function completeness(
  stuck: { count: number; oldest: Date | null; sample: string[] },
  stuckMinutes: number,
  now: Date,
): CheckResult {
  const metrics = {
    stuckMedia: stuck.count,
    stuckMinutes,
    sample: stuck.sample.map((id) => id.slice(0, 12)),
  };
  if (stuckMinutes === 0) return { check: 'completeness', ok: true, detail: 'disabled', metrics };
  if (stuck.count === 0) {
    return {
      check: 'completeness',
      ok: true,
      detail: `no media without a transcript after ${stuckMinutes} min`,
      metrics,
    };
  }
  const age = stuck.oldest ? now.getTime() - stuck.oldest.getTime() : 0;
  return {
    check: 'completeness',
    ok: false,
    detail:
      `completeness: ${stuck.count} ready media item(s) have no transcript ${stuckMinutes} min after ingest ` +
      `(oldest ${hours(age)} old; e.g. ${metrics.sample.join(', ')}): the transcribe task did not run or failed for them`,
    metrics,
  };
}

export function freshness(
  latest: { release: { id: string; completedAt: Date } | null; firstMediaAt: Date | null },
  maxAgeHours: number,
  now: Date,
): CheckResult {
  const maxMs = maxAgeHours * 3_600_000;
  const metrics = {
    latestReleaseId: latest.release?.id ?? null,
    latestReleaseAgeHours: latest.release
      ? (now.getTime() - latest.release.completedAt.getTime()) / 3_600_000
      : null,
    maxAgeHours,
  };
  if (maxAgeHours === 0) return { check: 'freshness', ok: true, detail: 'disabled', metrics };
  if (!latest.release) {
    // A new installation has nothing to release yet; only media waiting longer than the limit is a problem.
    const waiting = latest.firstMediaAt ? now.getTime() - latest.firstMediaAt.getTime() : 0;
    if (waiting <= maxMs)
      return { check: 'freshness', ok: true, detail: 'no release yet, none overdue', metrics };
    return {
      check: 'freshness',
      ok: false,
      detail: `freshness: no release has been published, and media has been waiting ${hours(waiting)} (max ${maxAgeHours} h)`,
      metrics,
    };
  }
  const age = now.getTime() - latest.release.completedAt.getTime();
  if (age <= maxMs) {
    return {
      check: 'freshness',
      ok: true,
      detail: `newest release ${latest.release.id} is ${hours(age)} old`,
      metrics,
    };
  }
  return {
    check: 'freshness',
    ok: false,
    detail: `freshness: the newest release ${latest.release.id} is ${hours(age)} old (max ${maxAgeHours} h): no export has succeeded since`,
    metrics,
  };
}

/**
 * Stage attempts: those abandoned in the window (their process ended without recording how, and a
 * later attempt found them) are counted; attempts still `running` whose process is gone (`phantoms`,
 * null where that cannot be known) fail the check: nothing has retried that stage.
 */
export function attempts(
  a: { abandoned: number; phantoms: number | null },
  windowHours: number,
): CheckResult {
  const metrics = { abandoned: a.abandoned, phantoms: a.phantoms, windowHours };
  const abandoned = `${a.abandoned} attempt(s) abandoned in the last ${windowHours} h`;
  if (!a.phantoms) return { check: 'attempts', ok: true, detail: abandoned, metrics };
  return {
    check: 'attempts',
    ok: false,
    detail:
      `attempts: ${a.phantoms} stage attempt(s) are recorded as running, but their process is gone (killed, ` +
      `out of memory, pod deleted) and no later attempt has run; re-run those stages (${abandoned})`,
    metrics,
  };
}

export interface SpikeRules {
  windowHours: number;
  minSamples: number;
  factor: number;
  minIncrease: number;
  maxRate: number;
}

/** The rate above which the window's rejections are a spike, or null when the window is too small. */
export function spikeThreshold(
  c: { window: RateCounts; baseline: RateCounts },
  r: SpikeRules,
): number | null {
  if (c.window.total < r.minSamples) return null;
  if (c.baseline.total < r.minSamples) return r.maxRate;
  const base = c.baseline.rejected / c.baseline.total;
  return Math.min(1, Math.max(base * r.factor, base + r.minIncrease));
}

export function anomalies(
  bySource: Record<string, { window: RateCounts; baseline: RateCounts }>,
  r: SpikeRules,
): CheckResult {
  const metrics: Record<string, unknown> = {};
  const spikes: string[] = [];
  for (const [source, c] of Object.entries(bySource)) {
    const rate = c.window.total ? c.window.rejected / c.window.total : 0;
    const baseRate = c.baseline.total ? c.baseline.rejected / c.baseline.total : null;
    const limit = r.windowHours === 0 ? null : spikeThreshold(c, r);
    metrics[source] = { ...c, rate, baselineRate: baseRate, limit };
    if (limit !== null && rate > limit) {
      spikes.push(
        `${source} rejected ${c.window.rejected}/${c.window.total} (${pct(rate)}) in the last ${r.windowHours} h, ` +
          `above ${pct(limit)} (baseline ${baseRate === null || c.baseline.total < r.minSamples ? 'too small' : pct(baseRate)})`,
      );
    }
  }
  if (r.windowHours === 0) return { check: 'anomalies', ok: true, detail: 'disabled', metrics };
  if (spikes.length === 0)
    return { check: 'anomalies', ok: true, detail: 'no rejection-rate spike', metrics };
  return {
    check: 'anomalies',
    ok: false,
    detail: `anomalies: rejection-rate spike: ${spikes.join('; ')}`,
    metrics,
  };
}
