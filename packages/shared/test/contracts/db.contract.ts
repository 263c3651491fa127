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
import * as releaseSets from '../../src/db/migrations/20261122T080000-release-sets.ts';

const TABLES = [
  'classifications',
  'content_fingerprints',
  'exports',
  'fingerprint_bands',
  'generated_items',
  'llm_cache',
  'llm_rejections',
  'media',
  'pipeline_runs',
  'release_items',
  'release_members',
  'release_sets',
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

    it('moves released generated items into release sets exactly, and back', async () => {
      // Release entries as releases v3 wrote them: one row per version, generated items and a segment.
      const v3 = [
        ['gi_a1', 1, 2, 'follow_up', 'r1'],
        ['gi_a1', 3, null, 'follow_up', 'r1'],
        ['gi_a2', 1, null, 'follow_up', 'r1'],
        ['gi_a3', 1, null, 'follow_up', 'r1'],
        ['gi_b1', 1, null, 'drill', 'r1'],
        ['gi_b2', 1, 3, 'drill', 'r1'],
        ['gi_c1', 2, null, 'follow_up', 'r2'],
        ['seg_1', 1, null, 'segment', 'r1'],
      ].map(([item_id, added_seq, removed_seq, kind, run_id]) => ({
        item_id: String(item_id),
        added_seq: Number(added_seq),
        removed_seq: removed_seq === null ? null : Number(removed_seq),
        kind: String(kind),
        run_id: String(run_id),
        model: kind === 'segment' ? 'classifier' : 'llama3.1:8b',
        prompt_version: kind === 'segment' ? 'classify-v1' : 'followup-v1',
      }));
      const entries = (rows: Array<Record<string, unknown>>) =>
        rows
          .map((r) => [r.item_id, r.added_seq, r.removed_seq, r.kind, r.run_id, r.model, r.prompt_version])
          .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

      await releaseSets.down(db);
      await db
        .insertInto('release_items')
        .values(v3.map((r) => (r.kind === 'segment' ? { ...r, content: '{}', content_sha256: 'x' } : r)))
        .execute();
      await releaseSets.up(db);
      expect(entries(await db.selectFrom('release_members').selectAll().execute())).toEqual(entries(v3));
      expect(
        (await db.selectFrom('release_items').select('item_id').execute()).map((r) => r.item_id),
      ).toEqual(['seg_1']);
      const sets = await db
        .selectFrom('release_sets')
        .select(['run_id', 'kind', 'chunk', 'added_seq', 'removed_seq', 'n', 'item_ids'])
        .orderBy('run_id')
        .orderBy('kind')
        .orderBy('chunk')
        .execute();
      // One row per (run, kind, model, prompt version, added, removed), numbered so no two share a chunk.
      expect(sets.map((s) => ({ ...s, item_ids: [...s.item_ids].sort() }))).toEqual([
        { run_id: 'r1', kind: 'drill', chunk: 0, added_seq: 1, removed_seq: 3, n: 1, item_ids: ['gi_b2'] },
        { run_id: 'r1', kind: 'drill', chunk: 1, added_seq: 1, removed_seq: null, n: 1, item_ids: ['gi_b1'] },
        {
          run_id: 'r1',
          kind: 'follow_up',
          chunk: 0,
          added_seq: 1,
          removed_seq: 2,
          n: 1,
          item_ids: ['gi_a1'],
        },
        {
          run_id: 'r1',
          kind: 'follow_up',
          chunk: 1,
          added_seq: 1,
          removed_seq: null,
          n: 2,
          item_ids: ['gi_a2', 'gi_a3'],
        },
        {
          run_id: 'r1',
          kind: 'follow_up',
          chunk: 2,
          added_seq: 3,
          removed_seq: null,
          n: 1,
          item_ids: ['gi_a1'],
        },
        {
          run_id: 'r2',
          kind: 'follow_up',
          chunk: 0,
          added_seq: 2,
          removed_seq: null,
          n: 1,
          item_ids: ['gi_c1'],
        },
      ]);

      await releaseSets.down(db);
      expect(entries(await db.selectFrom('release_items').selectAll().execute())).toEqual(entries(v3));
      await db.deleteFrom('release_items').execute();
      await releaseSets.up(db);
      expect(await tables(db)).toEqual(TABLES);
    });

    it('creates a pipeline run once however often it is ensured', async () => {
      await ensurePipelineRun(db, 'run-a', { sources: 2 });
      await ensurePipelineRun(db, 'run-a', { sources: 99 });
      const rows = await db.selectFrom('pipeline_runs').selectAll().where('id', '=', 'run-a').execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]?.params).toEqual({ sources: 2 });
      expect(rows[0]?.status).toBe('running');
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
