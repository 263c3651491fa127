import { describe, expect, it } from 'vitest';
import { anomalies, attempts, completeness, freshness, type SpikeRules, spikeThreshold } from './checks.ts';

describe('attempts', () => {
  it('counts abandoned attempts and passes while no running attempt has lost its process', () => {
    expect(attempts({ abandoned: 2, phantoms: 0 }, 24)).toMatchObject({
      ok: true,
      detail: '2 attempt(s) abandoned in the last 24 h',
      metrics: { abandoned: 2, phantoms: 0 },
    });
    expect(attempts({ abandoned: 0, phantoms: null }, 24).ok).toBe(true);
  });

  it('fails on attempts recorded as running whose process is gone', () => {
    const r = attempts({ abandoned: 0, phantoms: 1 }, 24);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(
      /^attempts: 1 stage attempt\(s\) are recorded as running, but their process is gone/,
    );
  });
});

const now = new Date('2026-11-22T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
const rules: SpikeRules = { windowHours: 24, minSamples: 20, factor: 2, minIncrease: 0.2, maxRate: 0.6 };

describe('completeness', () => {
  it('passes with no stuck media and fails naming the count, the age and examples', () => {
    expect(completeness({ count: 0, oldest: null, sample: [] }, 180, now).ok).toBe(true);
    const r = completeness(
      { count: 2, oldest: hoursAgo(5), sample: ['a'.repeat(64), 'b'.repeat(64)] },
      180,
      now,
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(
      'completeness: 2 ready media item(s) have no transcript 180 min after ingest (oldest 5.0 h old; ' +
        'e.g. aaaaaaaaaaaa, bbbbbbbbbbbb): the transcribe task did not run or failed for them',
    );
  });
});

describe('freshness', () => {
  it('fails on a release older than the limit and passes on a younger one', () => {
    const old = freshness(
      { release: { id: 'rel-1', completedAt: hoursAgo(50) }, firstMediaAt: hoursAgo(99) },
      48,
      now,
    );
    expect(old.ok).toBe(false);
    expect(old.detail).toContain('the newest release rel-1 is 50.0 h old (max 48 h)');
    expect(
      freshness({ release: { id: 'rel-1', completedAt: hoursAgo(47) }, firstMediaAt: null }, 48, now).ok,
    ).toBe(true);
  });

  it('does not fail a new installation, only media waiting longer than the limit without any release', () => {
    expect(freshness({ release: null, firstMediaAt: null }, 48, now).ok).toBe(true);
    expect(freshness({ release: null, firstMediaAt: hoursAgo(10) }, 48, now).ok).toBe(true);
    const r = freshness({ release: null, firstMediaAt: hoursAgo(60) }, 48, now);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('no release has been published, and media has been waiting 60.0 h');
  });

  it('is off at 0', () => {
    expect(
      freshness({ release: { id: 'r', completedAt: hoursAgo(1000) }, firstMediaAt: null }, 0, now).ok,
    ).toBe(true);
  });
});

describe('anomalies', () => {
  it('computes the spike limit from the baseline, or the absolute limit when the baseline is small', () => {
    const c = (wt: number, wr: number, bt: number, br: number) => ({
      window: { total: wt, rejected: wr },
      baseline: { total: bt, rejected: br },
    });
    expect(spikeThreshold(c(19, 19, 100, 0), rules)).toBeNull(); // too few in the window
    expect(spikeThreshold(c(20, 0, 5, 0), rules)).toBe(0.6); // baseline too small
    expect(spikeThreshold(c(20, 0, 100, 10), rules)).toBeCloseTo(0.3); // 0.1 + 0.2 beats 0.1 × 2
    expect(spikeThreshold(c(20, 0, 100, 40), rules)).toBeCloseTo(0.8); // 0.4 × 2 beats 0.4 + 0.2
    expect(spikeThreshold(c(20, 0, 100, 90), rules)).toBe(1);
  });

  it('fails naming each source that spiked, with counts and rates', () => {
    const r = anomalies(
      {
        ingest: { window: { total: 30, rejected: 24 }, baseline: { total: 60, rejected: 6 } },
        validate: { window: { total: 40, rejected: 4 }, baseline: { total: 100, rejected: 10 } },
      },
      rules,
    );
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(
      'anomalies: rejection-rate spike: ingest rejected 24/30 (80%) in the last 24 h, above 30% (baseline 10%)',
    );
  });

  it('passes at the same rate as the baseline', () => {
    const same = { window: { total: 50, rejected: 5 }, baseline: { total: 100, rejected: 10 } };
    expect(anomalies({ validate: same }, rules).ok).toBe(true);
  });
});
