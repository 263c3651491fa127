import { createHash } from 'node:crypto';
import type { Database, Db } from '@pronielts/shared/db';
import { type Selectable, sql, type Transaction } from 'kysely';

/**
 * Release SQL (docs/decisions/0009-exporter.md). A release is its files plus one `releases` row; the
 * queries here read the rows a run adds to a release, in item id order (code-unit order, the order the
 * release files are in), and keep the rows.
 */

export type ReleaseRow = Selectable<Database['releases']>;

/** A release line and the fields of its item that the merge needs. */
export interface LineRow {
  id: string;
  run_id: string;
  model: string | null;
  prompt_version: string | null;
  line: string;
}

/** Serialises exports: one chain of releases, one writer at a time. */
const EXPORT_LOCK = 0x70726f6e; // "pron"

export async function lockExports(db: Db): Promise<void> {
  await sql`select pg_advisory_lock(${EXPORT_LOCK})`.execute(db);
}

export async function unlockExports(db: Db): Promise<void> {
  await sql`select pg_advisory_unlock(${EXPORT_LOCK})`.execute(db);
}

/** The newest complete release. */
export async function headRelease(db: Db): Promise<ReleaseRow | undefined> {
  return db
    .selectFrom('releases')
    .selectAll()
    .where('status', '=', 'complete')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * The id of the release that exporting `runId` under `rulesVersion` makes after `previousId`: a hash
 * chain, like commits. An export killed part-way and run again writes the same release.
 */
export function releaseIdOf(previousId: string | null, runId: string, rulesVersion: string): string {
  const h = createHash('sha256').update(
    `pronielts-release\n${previousId ?? ''}\n${runId}\n${rulesVersion}\n`,
  );
  return `rel_${h.digest('hex').slice(0, 32)}`;
}

/** Releases an export started and never completed (killed), other than `keepId`. */
export async function unfinishedReleases(db: Db, keepId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('releases')
    .select('id')
    .where('status', '=', 'publishing')
    .where('id', '<>', keepId)
    .execute();
  return rows.map((r) => r.id);
}

/** Records that release `id` is being written (again, after a killed attempt: the row is kept). */
export async function startRelease(
  db: Db,
  r: { id: string; seq: number; previousId: string | null; runIds: string[]; rulesVersion: string },
): Promise<void> {
  await db
    .insertInto('releases')
    .values({
      id: r.id,
      seq: r.seq,
      previous_id: r.previousId,
      status: 'publishing',
      run_ids: JSON.stringify(r.runIds),
      rules_version: r.rulesVersion,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

export async function completeRelease(
  db: Db,
  id: string,
  r: { counts: Record<string, number>; runCounts: Record<string, number>; diff: object; manifestKey: string },
): Promise<ReleaseRow> {
  return db
    .updateTable('releases')
    .set({
      status: 'complete',
      counts: JSON.stringify(r.counts),
      run_counts: JSON.stringify(r.runCounts),
      item_count: Object.values(r.counts).reduce((a, b) => a + b, 0),
      diff: JSON.stringify(r.diff),
      manifest_key: r.manifestKey,
      completed_at: new Date(),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteRelease(db: Db, id: string): Promise<void> {
  await db.deleteFrom('releases').where('id', '=', id).execute();
}

export async function releaseIds(db: Db): Promise<Set<string>> {
  return new Set((await db.selectFrom('releases').select('id').execute()).map((r) => r.id));
}

/**
 * One kind's lines that the run adds to a release, in id order, each with the fields the merge needs: a
 * generated item (its own fields, and the content its kind's schema checked under `payload`), or a
 * classified segment with the gate's flags. Only approved items, and segments flagged needs_review.
 * PostgreSQL renders each line (`row_to_json`, keys in select order).
 */
export function runLinesQuery(o: { runId: string; rulesVersion: string; kind: string }) {
  const rows =
    o.kind !== 'segment'
      ? sql`
      select g.id, g.kind, g.run_id, g.topic, g.target_band::float8 as target_band, g.source_segment_id,
             g.model, g.prompt_version, g.payload
      from generated_items g
      join validations v on v.item_id = g.id and v.rules_version = ${o.rulesVersion} and v.status = 'approved'
      where g.run_id = ${o.runId} and g.kind = ${o.kind}`
      : sql`
      select c.id, 'segment' as kind, ${o.runId}::text as run_id, sg.text, c.part, c.kind as segment_kind,
             c.topic, c.band::float8 as band, c.cefr, c.pronunciation_focus, c.model, c.prompt_version,
             sg.start_ms, sg.end_ms, sg.turn, v.status = 'needs_review' as needs_review,
             case when v.status = 'needs_review' then v.reasons else '[]'::jsonb end as review
      from classifications c
      join validations v on v.item_id = c.id and v.rules_version = ${o.rulesVersion}
        and v.status in ('approved', 'needs_review')
      join segments sg on sg.id = c.segment_id
      join transcripts t on t.id = sg.transcript_id
      where t.media_id in (select media_id from run_media where run_id = ${o.runId} and status = 'accepted')`;
  return sql<LineRow>`
    select r.id, r.run_id, r.model, r.prompt_version, row_to_json(r)::text as line
    from (${rows}) r
    order by r.id collate "C"`;
}

/**
 * The rows of `query`, fetched through a cursor in batches (inside the caller's transaction), so memory
 * holds two batches whatever the size of the result: the next is fetched while this one is consumed.
 */
export async function* cursorRows<R>(
  tx: Transaction<Database>,
  query: ReturnType<typeof sql<R>>,
  batch = 5000,
): AsyncGenerator<R[]> {
  await sql`declare release_rows no scroll cursor for ${query}`.execute(tx);
  const fetch = () => sql<R>`fetch forward ${sql.lit(batch)} from release_rows`.execute(tx);
  let next = fetch();
  try {
    for (;;) {
      const { rows } = await next;
      if (rows.length === 0) break;
      next = fetch();
      yield rows;
    }
  } finally {
    // A consumer that stopped early leaves a fetch in flight; its failure is the transaction's.
    await next.catch(() => undefined);
  }
  await sql`close release_rows`.execute(tx);
}
