import { type Kysely, sql } from 'kysely';
import type { Database, StageRun, StageRunStatus } from '../../contracts/rows.ts';

/**
 * stage_runs: one row per attempt of a stage on a run. The attempt number is taken inside the insert
 * (max + 1) and guarded by the unique (run_id, stage, attempt) key, so two racing pods cannot share one.
 *
 * A running attempt proves it is alive by holding a PostgreSQL advisory lock keyed by its row id, on a
 * connection of its own: PostgreSQL releases the lock when that connection closes, which it does when
 * the process ends, whatever ends it. A new attempt of the same stage and run marks every `running` attempt whose lock it can take as
 * `abandoned`, so no phantom stays `running`. Mapped tasks (several live attempts of one stage on one
 * run) keep their locks and are left alone. On the embedded PGlite the database is one process's (its
 * lock file), so every `running` attempt found at start is abandoned.
 */

/** The advisory-lock namespace of stage attempts (the first key of pg_advisory_lock(int, int)). */
const ATTEMPT_LOCK_NS = 0x70726f6e;

async function insertAttempt(
  db: Kysely<Database>,
  row: { runId: string; stage: string; host: string | null },
): Promise<StageRun> {
  return db
    .insertInto('stage_runs')
    .values({
      run_id: row.runId,
      stage: row.stage,
      host: row.host,
      status: 'running',
      attempt: sql<number>`(select coalesce(max(attempt), 0) + 1 from stage_runs where run_id = ${row.runId} and stage = ${row.stage})`,
      exit_code: null,
      finished_at: null,
      duration_ms: null,
      summary: null,
      error_code: null,
      error_message: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Retries on 23505 (unique_violation): another attempt took the same number; take the next one. */
async function withAttemptNumber<T>(fn: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code !== '23505' || tries >= 5) throw err;
    }
  }
}

/** Inserts a `running` attempt (no liveness lock: for PGlite, and tests). */
export async function startStageRun(
  db: Kysely<Database>,
  row: { runId: string; stage: string; host: string | null },
): Promise<StageRun> {
  return withAttemptNumber(() => insertAttempt(db, row));
}

/** How an attempt ended, for its row. */
export interface StageRunEnd {
  status: Exclude<StageRunStatus, 'running'>;
  exitCode: number;
  durationMs: number;
  summary: Record<string, unknown> | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface AttemptLease {
  row: StageRun;
  /** Earlier attempts of this stage and run found dead and marked `abandoned`. */
  abandoned: number;
  /**
   * Records how the attempt ended, then gives up the liveness lock. On PostgreSQL it writes through the
   * lease's own connection, so a stage whose work holds every pooled connection can still record it.
   */
  end(end: StageRunEnd): Promise<void>;
}

const ABANDONED = {
  status: 'abandoned' as const,
  error_code: 'abandoned',
  error_message: 'the process running this attempt ended without recording how (found by a later attempt)',
};

/**
 * Starts an attempt. With `session` (a PostgreSQL connection pool of one, used for nothing else), the
 * row is inserted and its lock taken in one transaction, so no other attempt sees the row unlocked;
 * then the earlier `running` attempts whose locks are free are marked abandoned. Without it (PGlite),
 * every earlier `running` attempt is.
 */
export async function beginAttempt(
  db: Kysely<Database>,
  session: Kysely<Database> | null,
  row: { runId: string; stage: string; host: string | null },
): Promise<AttemptLease> {
  const earlier = (q: Kysely<Database>, ownId: string) =>
    q
      .selectFrom('stage_runs')
      .select('id')
      .where('run_id', '=', row.runId)
      .where('stage', '=', row.stage)
      .where('status', '=', 'running')
      .where('id', '!=', ownId)
      .execute();
  const abandon = (q: Kysely<Database>, id: string) =>
    q
      .updateTable('stage_runs')
      .set({ ...ABANDONED, finished_at: new Date() })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .executeTakeFirst();

  if (!session) {
    const own = await startStageRun(db, row);
    let abandoned = 0;
    for (const { id } of await earlier(db, own.id))
      abandoned += Number((await abandon(db, id)).numUpdatedRows);
    return { row: own, abandoned, end: (end) => finishStageRun(db, own.id, end) };
  }

  let ending: (end: StageRunEnd) => void = () => {};
  const ended = new Promise<StageRunEnd>((resolve) => {
    ending = resolve;
  });
  let started: (lease: { row: StageRun; abandoned: number }) => void = () => {};
  let failed: (err: unknown) => void = () => {};
  const begun = new Promise<{ row: StageRun; abandoned: number }>((resolve, reject) => {
    started = resolve;
    failed = reject;
  });
  // The session's one connection holds the lock for the attempt's whole life.
  const held = session.connection().execute(async (conn) => {
    const own = await withAttemptNumber(() =>
      conn.transaction().execute(async (trx) => {
        const r = await insertAttempt(trx, row);
        await sql`select pg_advisory_lock(${ATTEMPT_LOCK_NS}, ${Number(r.id)}::int)`.execute(trx);
        return r;
      }),
    );
    let abandoned = 0;
    for (const { id } of await earlier(conn, own.id)) {
      const { rows } = await sql<{
        free: boolean;
      }>`select pg_try_advisory_lock(${ATTEMPT_LOCK_NS}, ${Number(id)}::int) as free`.execute(conn);
      if (!rows[0]?.free) continue; // its process is alive
      abandoned += Number((await abandon(conn, id)).numUpdatedRows);
      await sql`select pg_advisory_unlock(${ATTEMPT_LOCK_NS}, ${Number(id)}::int)`.execute(conn);
    }
    started({ row: own, abandoned });
    try {
      await finishStageRun(conn, own.id, await ended);
    } finally {
      await sql`select pg_advisory_unlock(${ATTEMPT_LOCK_NS}, ${Number(own.id)}::int)`
        .execute(conn)
        .catch(() => undefined);
    }
  });
  held.catch(failed); // before `begun`: the attempt could not start; after it, `end` reports the error
  const lease = await begun;
  return {
    ...lease,
    end: async (end) => {
      ending(end);
      await held;
    },
  };
}

/** Running attempts whose process is gone (their lock is free): what a later attempt would abandon. */
export async function countPhantomAttempts(session: Kysely<Database>): Promise<number> {
  return session.connection().execute(async (conn) => {
    const running = await conn
      .selectFrom('stage_runs')
      .select('id')
      .where('status', '=', 'running')
      .execute();
    let phantoms = 0;
    for (const { id } of running) {
      const { rows } = await sql<{
        free: boolean;
      }>`select pg_try_advisory_lock(${ATTEMPT_LOCK_NS}, ${Number(id)}::int) as free`.execute(conn);
      if (!rows[0]?.free) continue;
      phantoms++;
      await sql`select pg_advisory_unlock(${ATTEMPT_LOCK_NS}, ${Number(id)}::int)`.execute(conn);
    }
    return phantoms;
  });
}

export async function finishStageRun(db: Kysely<Database>, id: string, end: StageRunEnd): Promise<void> {
  await db
    .updateTable('stage_runs')
    .set({
      status: end.status,
      exit_code: end.exitCode,
      finished_at: new Date(),
      duration_ms: end.durationMs,
      summary: end.summary ? JSON.stringify(end.summary) : null,
      error_code: end.errorCode,
      error_message: end.errorMessage,
    })
    .where('id', '=', id)
    .execute();
}

export async function listStageRuns(
  db: Kysely<Database>,
  runId: string,
  stage?: string,
): Promise<StageRun[]> {
  let q = db.selectFrom('stage_runs').selectAll().where('run_id', '=', runId);
  if (stage) q = q.where('stage', '=', stage);
  return q.orderBy('stage').orderBy('attempt').execute();
}
