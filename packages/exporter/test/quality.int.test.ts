import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Db } from '@pronielts/shared/db';
import { openMigratedPostgres } from '@pronielts/shared/testing';
import { createTestDatabase, spawnStage } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The shipped entrypoint (the image's ENTRYPOINT, the runner's file), built before the integration tests.
const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const services = inject('services');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

let db: Db;
let drop: () => Promise<void>;
let env: Record<string, string>;

beforeAll(async () => {
  const t = await createTestDatabase(services);
  drop = t.drop;
  db = await openMigratedPostgres(t.url, 2);
  // The quality check needs no object store; the local folder default keeps S3 out of it.
  env = { DATABASE_URL: t.url, PRONIELTS_DATA_DIR: path.join('/tmp', `quality-${process.pid}`) };
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

async function qualityCheck(runId: string, extraEnv: Record<string, string> = {}) {
  const p = spawnStage(CLI, ['quality-check', '--run-id', runId], { ...env, ...extraEnv });
  const code = await p.exit;
  const errors = p
    .json()
    .filter((l) => l.level === 'error' || l.level === 50)
    .map((l) => String(l.msg));
  return { code, errors, lines: p.lines, summary: p.summary() };
}

describe('pronielts-exporter quality-check', () => {
  it('passes on an empty database (a new installation) and reports every check', async () => {
    const r = await qualityCheck('qc-empty');
    expect(r.code, r.lines.slice(-3).join('\n')).toBe(0);
    const checks = r.summary.checks as Array<{ check: string; ok: boolean }>;
    expect(checks.map((c) => [c.check, c.ok])).toEqual([
      ['completeness', true],
      ['freshness', true],
      ['anomalies', true],
      ['attempts', true],
    ]);
  });

  it('exits 3 with one line per failed check: stuck media, a stale release, a rejection spike and a phantom attempt', async () => {
    await db.insertInto('pipeline_runs').values({ id: 'seed-run' }).execute();
    // An attempt recorded as running whose process is gone (no session holds its lock), and one abandoned.
    await db
      .insertInto('stage_runs')
      .values([
        {
          run_id: 'seed-run',
          stage: 'transcribe',
          attempt: 1,
          status: 'abandoned',
          finished_at: hoursAgo(1),
        },
        { run_id: 'seed-run', stage: 'transcribe', attempt: 2, status: 'running' },
      ])
      .execute();
    const stuckId = sha('stuck media');
    await db
      .insertInto('media')
      .values({ id: stuckId, status: 'ready', source_uri: 'seed:stuck', created_at: hoursAgo(5) })
      .execute();
    await db
      .insertInto('releases')
      .values({
        id: 'rel-old',
        seq: 1,
        status: 'complete',
        run_ids: '[]',
        rules_version: 'rules-v1',
        completed_at: hoursAgo(72),
        created_at: hoursAgo(72),
      })
      .execute();
    // Ingest decisions: 3 of 30 rejected over the baseline days, 24 of 30 rejected in the last day.
    const rows = [
      ...Array.from({ length: 30 }, (_, i) => ({ i, at: hoursAgo(72), rejected: i < 3 })),
      ...Array.from({ length: 30 }, (_, i) => ({ i: 100 + i, at: hoursAgo(2), rejected: i < 24 })),
    ];
    await db
      .insertInto('run_media')
      .values(
        rows.map((r) => ({
          run_id: 'seed-run',
          source_hash: sha(`src ${r.i}`),
          source_uri: `seed:${r.i}`,
          status: r.rejected ? ('rejected' as const) : ('accepted' as const),
          reject_reason: r.rejected ? 'unsupported_format' : null,
          created_at: r.at,
        })),
      )
      .execute();

    const r = await qualityCheck('qc-bad');
    expect(r.code, r.lines.slice(-3).join('\n')).toBe(3);
    expect(r.errors.filter((m) => /^(completeness|freshness|anomalies|attempts):/.test(m))).toEqual([
      expect.stringMatching(
        /^completeness: 1 ready media item\(s\) have no transcript 180 min after ingest \(oldest 5\.0 h old; e\.g\. [a-f0-9]{12}\)/,
      ),
      expect.stringMatching(/^freshness: the newest release rel-old is 72\.0 h old \(max 48 h\)/),
      'anomalies: rejection-rate spike: ingest rejected 24/30 (80%) in the last 24 h, above 30% (baseline 10%)',
      expect.stringMatching(
        /^attempts: 1 stage attempt\(s\) are recorded as running, but their process is gone .*\(1 attempt\(s\) abandoned in the last 24 h\)$/,
      ),
    ]);
    expect(r.summary.error).toEqual({
      code: 'check_failed',
      message: '4 of 4 data-quality checks failed: completeness, freshness, anomalies, attempts',
    });
    const attempt = await db
      .selectFrom('stage_runs')
      .select(['stage', 'status', 'exit_code', 'error_code'])
      .where('run_id', '=', 'qc-bad')
      .executeTakeFirstOrThrow();
    expect(attempt).toEqual({ stage: 'quality', status: 'failed', exit_code: 3, error_code: 'check_failed' });
    // What the stage's next attempt does with the phantom; the tests below reuse the rest of the data.
    await db
      .updateTable('stage_runs')
      .set({ status: 'abandoned' })
      .where('run_id', '=', 'seed-run')
      .where('status', '=', 'running')
      .execute();
  });

  it('takes its thresholds from env: raised limits make the same data pass', async () => {
    const r = await qualityCheck('qc-lenient', {
      QUALITY_STUCK_MINUTES: '600',
      QUALITY_MAX_RELEASE_AGE_HOURS: '100',
      QUALITY_SPIKE_MIN_INCREASE: '0.75',
    });
    expect(r.code, r.lines.slice(-3).join('\n')).toBe(0);
  });

  it('passes completeness once the stuck media has a transcript', async () => {
    const mediaId = sha('stuck media');
    await db
      .insertInto('transcripts')
      .values({ id: `tr_${mediaId.slice(0, 32)}`, media_id: mediaId, model: 'tiny', status: 'ok' })
      .execute();
    const r = await qualityCheck('qc-fixed');
    expect(r.errors.some((m) => m.startsWith('completeness:'))).toBe(false);
    expect(r.code).toBe(3); // freshness and the spike are still there
  });

  it('rejects a malformed threshold at start with exit 2, naming the variable', async () => {
    const r = await qualityCheck('qc-bad-env', { QUALITY_SPIKE_FACTOR: 'lots' });
    expect(r.code).toBe(2);
    expect(r.lines.join('\n')).toContain('QUALITY_SPIKE_FACTOR');
  });
});
