import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Db,
  ensurePipelineRun,
  finishStageRun,
  listStageRuns,
  migrateDown,
  migrateToLatest,
  migrationStatus,
  pendingMigrations,
  startStageRun,
} from '../../src/db/index.ts';

const TABLES = [
  'classifications',
  'content_fingerprints',
  'fingerprint_bands',
  'generated_items',
  'llm_cache',
  'llm_rejections',
  'media',
  'pipeline_runs',
  'releases',
  'run_media',
  'segments',
  'stage_runs',
  'transcripts',
  'validations',
];

async function tables(db: Db): Promise<string[]> {
  const res = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_name not like 'kysely_%' order by table_name`.execute(db);
  return res.rows.map((r) => r.table_name);
}

/**
 * The DB contract: the same migrations and repositories against embedded PGlite (unit tests) and real
 * PostgreSQL (integration tests). `makeDb` must return a connection to an empty database.
 */
export function dbContract(name: string, makeDb: () => Promise<Db>) {
  describe(`db contract: ${name}`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await makeDb();
    });
    afterAll(async () => {
      await db?.destroy();
    });

    it('applies every migration to an empty database, and a second run is a no-op', async () => {
      const first = await migrateToLatest(db);
      expect(first.applied.map((s) => s.status)).toEqual(first.known.map(() => 'Success'));
      expect(first.applied.length).toBeGreaterThan(0);
      const second = await migrateToLatest(db);
      expect(second.applied).toEqual([]);
      expect(await pendingMigrations(db)).toEqual([]);
      expect(await tables(db)).toEqual(TABLES);
    });

    it('reverts the newest migration and re-applies it', async () => {
      const down = await migrateDown(db);
      expect(down.applied).toHaveLength(1);
      expect((await migrationStatus(db)).filter((m) => m.executedAt === null)).toHaveLength(1);
      await migrateToLatest(db);
      expect(await tables(db)).toEqual(TABLES);
    });

    it('creates a pipeline run once however often it is ensured', async () => {
      await ensurePipelineRun(db, 'run-a', { sources: 2 });
      await ensurePipelineRun(db, 'run-a', { sources: 99 });
      const rows = await db.selectFrom('pipeline_runs').selectAll().where('id', '=', 'run-a').execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]?.params).toEqual({ sources: 2 });
    });

    it('numbers stage attempts and records how each ended', async () => {
      await ensurePipelineRun(db, 'run-b');
      const a1 = await startStageRun(db, { runId: 'run-b', stage: 'ingest', host: 'h' });
      await finishStageRun(db, a1.id, {
        status: 'failed',
        exitCode: 75,
        durationMs: 12,
        summary: null,
        errorCode: 'storage_unavailable',
        errorMessage: 'down',
      });
      const a2 = await startStageRun(db, { runId: 'run-b', stage: 'ingest', host: 'h' });
      await finishStageRun(db, a2.id, {
        status: 'succeeded',
        exitCode: 0,
        durationMs: 34,
        summary: { counts: { in: 1 } },
        errorCode: null,
        errorMessage: null,
      });
      const other = await startStageRun(db, { runId: 'run-b', stage: 'transcribe', host: null });
      expect([a1.attempt, a2.attempt, other.attempt]).toEqual([1, 2, 1]);
      const runs = await listStageRuns(db, 'run-b', 'ingest');
      expect(runs.map((r) => [r.attempt, r.status, r.exit_code, r.error_code])).toEqual([
        [1, 'failed', 75, 'storage_unavailable'],
        [2, 'succeeded', 0, null],
      ]);
      expect(runs[1]?.summary).toEqual({ counts: { in: 1 } });
      expect(runs[1]?.finished_at).toBeInstanceOf(Date);
    });

    it('gives concurrent attempts distinct numbers', async () => {
      await ensurePipelineRun(db, 'run-c');
      const rows = await Promise.all(
        Array.from({ length: 5 }, () => startStageRun(db, { runId: 'run-c', stage: 'classify', host: null })),
      );
      expect(rows.map((r) => r.attempt).sort()).toEqual([1, 2, 3, 4, 5]);
    });

    it('enforces the schema constraints (band range, media id shape, stage status)', async () => {
      await expect(
        db
          .insertInto('media')
          .values({ id: 'not-a-sha', status: 'ready', source_uri: 'x' } as never)
          .execute(),
      ).rejects.toThrow();
      await expect(
        db
          .insertInto('stage_runs')
          .values({ run_id: 'run-c', stage: 'x', attempt: 99, status: 'bogus' } as never)
          .execute(),
      ).rejects.toThrow();
      const sha = 'a'.repeat(64);
      await db.insertInto('media').values({ id: sha, status: 'ready', source_uri: 'file:///x' }).execute();
      await db
        .insertInto('transcripts')
        .values({ id: 'tr_1', media_id: sha, model: 'tiny', status: 'ok' })
        .execute();
      await db
        .insertInto('segments')
        .values({
          id: 'sg_1',
          transcript_id: 'tr_1',
          idx: 0,
          start_ms: 0,
          end_ms: 10,
          text: 'hi',
          turn: null,
        })
        .execute();
      await expect(
        db
          .insertInto('classifications')
          .values({
            id: 'cl_1',
            segment_id: 'sg_1',
            status: 'ok',
            band: 9.5,
            model: 'm',
            prompt_version: 'v1',
          })
          .execute(),
      ).rejects.toThrow();
      await db
        .insertInto('classifications')
        .values({ id: 'cl_2', segment_id: 'sg_1', status: 'ok', band: 6.5, model: 'm', prompt_version: 'v1' })
        .execute();
      const row = await db
        .selectFrom('classifications')
        .select(['band', 'pronunciation_focus'])
        .executeTakeFirstOrThrow();
      expect(Number(row.band)).toBe(6.5);
      expect(row.pronunciation_focus).toEqual([]);
    });
  });
}
