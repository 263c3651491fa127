import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, requireTool, spawnStage, uniqueName } from '@pronielts/test-services';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { StageSummary } from '../src/contracts/index.ts';
import { type Db, listStageRuns, migrateToLatest, openDb } from '../src/db/index.ts';
import { startOwnMinio, startOwnPostgres } from './helpers/disposable-servers.ts';

const PROBE = path.resolve(import.meta.dirname, 'fixtures/probe-stage.ts');

const services = inject('services');
const minio = services.s3[0];
if (!minio) throw new Error('no S3 endpoint');

describe('stage harness against real PostgreSQL and S3', () => {
  let dbUrl: string;
  let drop: () => Promise<void>;
  let db: Db;
  const s3Env = {
    MINIO_ENDPOINT: `${minio.endPoint}:${minio.port}`,
    MINIO_ACCESS_KEY: minio.accessKey,
    MINIO_SECRET_KEY: minio.secretKey,
  };

  beforeAll(async () => {
    ({ url: dbUrl, drop } = await createTestDatabase(services));
    db = await openDb({ kind: 'postgres', url: dbUrl, poolMax: 2 });
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await drop?.();
  });

  const baseEnv = () => ({ ...s3Env, DATABASE_URL: dbUrl, MINIO_BUCKET_PREFIX: `${uniqueName()}-` });

  it('exits 0, records the attempt and writes the XCom summary, also as the last log line', async () => {
    const xcom = fs.mkdtempSync(path.join(os.tmpdir(), 'xcom-'));
    const runId = 'manual__2026-11-22T10:00:00+00:00';
    const p = spawnStage(PROBE, ['--run-id', runId, '--items', '3'], {
      ...baseEnv(),
      AIRFLOW_XCOM_DIR: xcom,
    });
    expect(await p.exit).toBe(0);
    const summary = StageSummary.passthrough().parse(
      JSON.parse(fs.readFileSync(path.join(xcom, 'return.json'), 'utf8')),
    );
    expect(summary).toMatchObject({
      stage: 'ingest',
      runId: 'manual__2026-11-22t10-00-00-00-00',
      status: 'ok',
      attempt: 1,
    });
    expect(summary.counts).toEqual({ in: 3, out: 3, rejected: 0, skipped: 0 });
    const last = p.json().at(-1);
    expect(last?.summary).toEqual(summary);
    const runs = await listStageRuns(db, summary.runId, 'ingest');
    expect(runs.map((r) => [r.status, r.exit_code])).toEqual([['succeeded', 0]]);
    // Secrets never reach the logs.
    expect(p.lines.join('\n')).not.toContain(minio.secretKey);
  });

  it('re-running a finished run does the work exactly once (second attempt skips every item)', async () => {
    const env = baseEnv();
    const first = spawnStage(PROBE, ['--run-id', 'rerun-1', '--items', '4'], env);
    expect(await first.exit).toBe(0);
    const second = spawnStage(PROBE, ['--run-id', 'rerun-1', '--items', '4'], env);
    expect(await second.exit).toBe(0);
    expect(second.summary().counts).toEqual({ in: 4, out: 0, rejected: 0, skipped: 4 });
    const rows = await db
      .selectFrom('run_media')
      .select('source_hash')
      .where('run_id', '=', 'rerun-1')
      .execute();
    expect(rows).toHaveLength(4);
  });

  it('on SIGTERM stops between items, records the attempt as interrupted, exits 75; a re-run finishes the rest', async () => {
    const env = { ...baseEnv(), PROBE_ITEM_DELAY_MS: '300' };
    const p = spawnStage(PROBE, ['--run-id', 'sigterm-1', '--items', '50'], env);
    await p.waitForLine((l) => l.msg === 'item done' && l.item === 1);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(75);
    const runs = await listStageRuns(db, 'sigterm-1', 'ingest');
    expect(runs.map((r) => [r.status, r.exit_code])).toEqual([['interrupted', 75]]);
    const done = await db
      .selectFrom('run_media')
      .select('source_hash')
      .where('run_id', '=', 'sigterm-1')
      .execute();
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.length).toBeLessThan(50);

    const again = spawnStage(PROBE, ['--run-id', 'sigterm-1', '--items', '50'], {
      ...env,
      PROBE_ITEM_DELAY_MS: '0',
    });
    expect(await again.exit).toBe(0);
    const counts = again.summary().counts;
    expect((counts?.out ?? 0) + (counts?.skipped ?? 0)).toBe(50);
    expect(counts?.skipped).toBe(done.length);
    const all = await db
      .selectFrom('run_media')
      .select('source_hash')
      .where('run_id', '=', 'sigterm-1')
      .execute();
    expect(all).toHaveLength(50);
    expect((await listStageRuns(db, 'sigterm-1', 'ingest')).map((r) => r.attempt)).toEqual([1, 2]);
    // The log's last line says what the attempt row says.
    expect(p.json().at(-1)).toMatchObject({
      level: 'warn',
      msg: 'stage interrupted',
      summary: { status: 'interrupted' },
    });
  });

  it('records a stage that does not wind down within the grace period as stopped, never running', async () => {
    const p = spawnStage(PROBE, ['--run-id', 'grace-1', '--items', '50'], {
      ...baseEnv(),
      PROBE_ITEM_DELAY_MS: '300',
      PROBE_IGNORE_SIGNAL: 'true',
      STAGE_SHUTDOWN_GRACE_MS: '700',
    });
    await p.waitForLine((l) => l.msg === 'item done' && l.item === 1);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(75);
    const [run] = await listStageRuns(db, 'grace-1', 'ingest');
    expect([run?.status, run?.exit_code, run?.error_code]).toEqual(['stopped', 75, 'interrupted']);
    expect(run?.finished_at).not.toBeNull();
    // The summary is the last line, though the abandoned work was still running.
    expect(p.json().at(-1)).toMatchObject({
      msg: 'grace period over: exiting 75',
      summary: { status: 'interrupted', exitCode: 75, error: { code: 'interrupted' } },
    });
  });

  it('records a stage stuck in a database call past the grace period as stopped and exits 75 without waiting for it', async () => {
    // One pooled connection, held by the stuck query: the record must not need it, nor wait for the query.
    const p = spawnStage(PROBE, ['--run-id', 'grace-db-1', '--items', '5'], {
      ...baseEnv(),
      DB_POOL_MAX: '1',
      PROBE_DB_SLEEP_S: '120',
      STAGE_SHUTDOWN_GRACE_MS: '500',
    });
    await p.waitForLine((l) => l.msg === 'waiting in a database transaction');
    p.child.kill('SIGTERM');
    const t0 = Date.now();
    expect(await p.exit).toBe(75);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const [run] = await listStageRuns(db, 'grace-db-1', 'ingest');
    expect([run?.status, run?.exit_code, run?.error_code]).toEqual(['stopped', 75, 'interrupted']);
    expect(run?.error_message).toMatch(/^grace period over; work in flight was abandoned/);
    expect(p.json().at(-1)?.msg).toBe('grace period over: exiting 75');
  });

  it('marks an attempt killed with -9 as abandoned when the next attempt starts, and leaves live attempts alone', async () => {
    const env = { ...baseEnv(), PROBE_ITEM_DELAY_MS: '300' };
    const killed = spawnStage(PROBE, ['--run-id', 'kill9-1', '--items', '50'], env);
    await killed.waitForLine((l) => l.msg === 'item done' && l.item === 1);
    // A second attempt alive at the same time (a mapped task of the same stage and run), with more
    // items than the others, so it is still working when they are done.
    const live = spawnStage(PROBE, ['--run-id', 'kill9-1', '--items', '500'], env);
    await live.waitForLine((l) => l.msg === 'item done');
    killed.child.kill('SIGKILL');
    await killed.exit;
    // PostgreSQL ends the killed process's sessions (and so its lock) when it sees their sockets close.
    for (let i = 0; i < 50; i++) {
      const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
        where datname = current_database() and application_name = 'pronielts-ingest-attempt'`.execute(db);
      if (Number(rows[0]?.n) === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await listStageRuns(db, 'kill9-1', 'ingest')).map((r) => r.status)).toEqual([
      'running',
      'running',
    ]);

    const next = spawnStage(PROBE, ['--run-id', 'kill9-1', '--items', '50'], {
      ...env,
      PROBE_ITEM_DELAY_MS: '0',
    });
    expect(await next.exit).toBe(0);
    expect(next.json().find((l) => l.msg?.toString().startsWith('earlier attempts'))).toMatchObject({
      abandoned: 1,
    });
    const runs = await listStageRuns(db, 'kill9-1', 'ingest');
    expect(runs.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'abandoned'],
      [2, 'running'],
      [3, 'succeeded'],
    ]);
    expect(runs[0]?.finished_at).not.toBeNull();
    live.child.kill('SIGTERM');
    expect(await live.exit).toBe(75);
    expect((await listStageRuns(db, 'kill9-1', 'ingest')).map((r) => r.status)).toEqual([
      'abandoned',
      'interrupted',
      'succeeded',
    ]);
  });

  it('exits 2 with one line when PostgreSQL refuses the password, without echoing it', async () => {
    const url = new URL(dbUrl);
    url.password = 'not-the-password';
    const p = spawnStage(PROBE, ['--run-id', 'auth-1'], { ...baseEnv(), DATABASE_URL: url.toString() });
    expect(await p.exit).toBe(2);
    const err = p.summary().error;
    expect(err?.code).toBe('config_invalid');
    expect(err?.message).toMatch(
      new RegExp(
        `^automation DB at ${url.hostname}:${url.port} refused the user name or password in DATABASE_URL \\(28P01\\)`,
      ),
    );
    expect(p.lines.join('\n')).not.toContain('not-the-password');
    expect(p.lines.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('exits 2 with one line when the S3 server refuses the credentials', async () => {
    const p = spawnStage(PROBE, ['--run-id', 'auth-2'], { ...baseEnv(), MINIO_SECRET_KEY: 'not-the-secret' });
    expect(await p.exit).toBe(2);
    const err = p.summary().error;
    expect(err?.code).toBe('config_invalid');
    expect(err?.message).toMatch(
      /refused the credentials or their rights during ensureBuckets .*MINIO_SECRET_KEY/,
    );
    expect(p.lines.join('\n')).not.toContain('not-the-secret');
  });

  it('exits 2 naming DATABASE_URL when it does not parse as a URL', async () => {
    const p = spawnStage(PROBE, ['--run-id', 'cfg-3'], {
      ...baseEnv(),
      DATABASE_URL: 'postgres://u:pw-secret@127.0.0.1:notaport/db',
    });
    expect(await p.exit).toBe(2);
    expect(p.lines).toHaveLength(1);
    expect(p.lines[0]).toMatch(/DATABASE_URL: does not parse as a URL/);
    expect(p.lines[0]).not.toContain('pw-secret');
  });

  it('exits 2 with one line naming a missing variable, without echoing any secret value', async () => {
    const p = spawnStage(PROBE, ['--run-id', 'cfg-1'], {
      MINIO_ENDPOINT: '127.0.0.1:1',
      MINIO_ACCESS_KEY: 'access-key-value-123',
      DATABASE_URL: 'postgres://u:hunter2-secret@127.0.0.1:1/db',
    });
    expect(await p.exit).toBe(2);
    expect(p.lines).toHaveLength(1);
    const line = JSON.parse(p.lines[0] ?? '{}') as { msg: string; code: string };
    expect(line.code).toBe('config_invalid');
    expect(line.msg).toContain('MINIO_SECRET_KEY');
    expect(line.msg).toMatch(/required/);
    expect(p.lines[0]).not.toContain('access-key-value-123');
    expect(p.lines[0]).not.toContain('hunter2-secret');
  });

  it('exits 2 on a malformed variable, naming it and what was expected', async () => {
    const p = spawnStage(PROBE, ['--run-id', 'cfg-2'], {
      ...baseEnv(),
      MINIO_USE_SSL: 'maybe',
      DB_POOL_MAX: 'lots',
    });
    expect(await p.exit).toBe(2);
    const msg = String(JSON.parse(p.lines[0] ?? '{}').msg);
    expect(msg).toMatch(/MINIO_USE_SSL: expected true or false/);
    expect(msg).toMatch(/DB_POOL_MAX: expected number/);
    expect(msg).not.toMatch(/DB_POOL_MAX: is required/);
  });

  it('exits 2 without --run-id and on unknown flags', async () => {
    expect(await spawnStage(PROBE, [], baseEnv()).exit).toBe(2);
    expect(await spawnStage(PROBE, ['--run-id', 'x', '--bogus'], baseEnv()).exit).toBe(2);
  });

  it('prints usage with options, env vars and exit codes on --help', async () => {
    const p = spawnStage(PROBE, ['--help'], {});
    expect(await p.exit).toBe(0);
    const out = p.lines.join('\n');
    expect(out).toContain('Usage: probe-stage --run-id <id>');
    expect(out).toContain('--items <n>');
    expect(out).toContain('MINIO_ENDPOINT');
    expect(out).toContain('75 a dependency is unavailable');
  });

  it('exits 75 when the database is unreachable from the start', async () => {
    const p = spawnStage(PROBE, ['--run-id', 'down-1'], {
      ...baseEnv(),
      DATABASE_URL: 'postgres://x:y@127.0.0.1:1/db',
    });
    expect(await p.exit).toBe(75);
    const last = { summary: p.summary() };
    expect(last.summary?.error?.code).toBe('db_unavailable');
    expect(last.summary?.error?.message).toMatch(
      /^automation DB at 127\.0\.0\.1:1 unavailable: .*ECONNREFUSED/,
    );
    expect(last.summary?.error?.message).not.toContain(':y@');
  });

  it('exits 75 when the object store is unreachable from the start', async () => {
    const p = spawnStage(PROBE, ['--run-id', 'down-2'], { ...baseEnv(), MINIO_ENDPOINT: '127.0.0.1:1' });
    expect(await p.exit).toBe(75);
    const last = { summary: p.summary() };
    expect(last.summary?.error?.code).toBe('storage_unavailable');
  });

  it('reports the database first when both are unreachable (they are checked side by side)', async () => {
    const p = spawnStage(PROBE, ['--run-id', 'down-3'], {
      ...baseEnv(),
      DATABASE_URL: 'postgres://x:y@127.0.0.1:1/db',
      MINIO_ENDPOINT: '127.0.0.1:1',
    });
    expect(await p.exit).toBe(75);
    expect(p.summary()?.error?.code).toBe('db_unavailable');
  });
});

// Loopback mode only: the test starts and kills servers of its own, from the binaries scripts/services uses.
const canKillServers =
  services.mode === 'loopback' &&
  requireTool(
    'MinIO and PostgreSQL binaries',
    services.minioBin && services.pg.binDir
      ? undefined
      : 'scripts/services did not report PRONIELTS_TEST_MINIO_BIN and PRONIELTS_TEST_PG_BINDIR',
  );
describe.runIf(canKillServers)('killing a server mid-run gives exit 75, not a crash trace', () => {
  it('the S3 server is killed between items', async () => {
    const own = await startOwnMinio(services.minioBin ?? '');
    const { url, drop } = await createTestDatabase(services);
    const odb = await openDb({ kind: 'postgres', url, poolMax: 1 });
    await migrateToLatest(odb);
    await odb.destroy();
    try {
      const p = spawnStage(PROBE, ['--run-id', 'kill-s3', '--items', '100'], {
        ...own.env,
        DATABASE_URL: url,
        PROBE_ITEM_DELAY_MS: '200',
      });
      await p.waitForLine((l) => l.msg === 'item done' && l.item === 1);
      await own.kill();
      expect(await p.exit).toBe(75);
      const last = { summary: p.summary() };
      expect(last.summary?.error?.code).toBe('storage_unavailable');
      expect(p.lines.join('\n')).not.toMatch(/\n\s+at /); // no stack trace
      const check = await openDb({ kind: 'postgres', url, poolMax: 1 });
      expect((await listStageRuns(check, 'kill-s3')).map((r) => [r.status, r.exit_code])).toEqual([
        ['failed', 75],
      ]);
      await check.destroy();
    } finally {
      await drop();
    }
  });

  it('the S3 server freezes (SIGSTOP) between items: exit 75 within the idle timeout', async () => {
    const own = await startOwnMinio(services.minioBin ?? '');
    const { url, drop } = await createTestDatabase(services);
    const odb = await openDb({ kind: 'postgres', url, poolMax: 1 });
    await migrateToLatest(odb);
    await odb.destroy();
    try {
      const p = spawnStage(PROBE, ['--run-id', 'freeze-s3', '--items', '100'], {
        ...own.env,
        DATABASE_URL: url,
        PROBE_ITEM_DELAY_MS: '200',
        MINIO_IDLE_TIMEOUT_MS: '2000',
      });
      await p.waitForLine((l) => l.msg === 'item done' && l.item === 1);
      own.freeze?.();
      const t0 = Date.now();
      expect(await p.exit).toBe(75);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(p.summary().error?.code).toBe('storage_unavailable');
      expect(p.summary().error?.message).toMatch(/no data from the server for 2000 ms/);
    } finally {
      await own.kill();
      await drop();
    }
  });

  it('the PostgreSQL server is killed between items', async () => {
    const own = await startOwnPostgres(services.pg.binDir ?? '');
    const odb = await openDb({ kind: 'postgres', url: own.env.DATABASE_URL ?? '', poolMax: 1 });
    await migrateToLatest(odb);
    await odb.destroy();
    const p = spawnStage(PROBE, ['--run-id', 'kill-db', '--items', '100'], {
      ...own.env,
      MINIO_ENDPOINT: `${minio.endPoint}:${minio.port}`,
      MINIO_ACCESS_KEY: minio.accessKey,
      MINIO_SECRET_KEY: minio.secretKey,
      MINIO_BUCKET_PREFIX: `${uniqueName()}-`,
      PROBE_ITEM_DELAY_MS: '200',
    });
    await p.waitForLine((l) => l.msg === 'item done' && l.item === 1);
    await own.kill();
    expect(await p.exit).toBe(75);
    const last = { summary: p.summary() };
    expect(last.summary?.error?.code, p.lines.slice(-3).join('\n')).toBe('db_unavailable');
    expect(last.summary?.error?.message).toMatch(/^automation DB at 127\.0\.0\.1:\d+ unavailable: /);
    expect(p.lines.join('\n')).not.toContain('"level":"fatal"');
    expect(p.lines.join('\n')).not.toMatch(/\n\s+at /);
  });
});
