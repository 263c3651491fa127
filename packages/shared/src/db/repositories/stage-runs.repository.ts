import { type Kysely, sql } from 'kysely';
import type { Database, StageRun, StageRunStatus } from '../../contracts/rows.ts';

/**
 * stage_runs: one row per attempt of a stage on a run. The attempt number is taken inside the insert
 * (max + 1) and guarded by the unique (run_id, stage, attempt) key, so two racing pods cannot share one.
 */
export async function startStageRun(
  db: Kysely<Database>,
  row: { runId: string; stage: string; host: string | null },
): Promise<StageRun> {
  for (let tries = 0; ; tries++) {
    try {
      return await db
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
    } catch (err) {
      // 23505 unique_violation: another attempt took the same number; take the next one.
      if ((err as { code?: string }).code !== '23505' || tries >= 5) throw err;
    }
  }
}

export async function finishStageRun(
  db: Kysely<Database>,
  id: string,
  end: {
    status: Exclude<StageRunStatus, 'running'>;
    exitCode: number;
    durationMs: number;
    summary: Record<string, unknown> | null;
    errorCode: string | null;
    errorMessage: string | null;
  },
): Promise<void> {
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
