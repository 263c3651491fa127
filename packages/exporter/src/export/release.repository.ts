import { createHash } from 'node:crypto';
import type { Database } from '@pronielts/shared/db';
import { type Kysely, sql, type Transaction } from 'kysely';

/**
 * Release SQL. Content is built and hashed inside PostgreSQL (INSERT … SELECT), so a release of a million
 * items never travels through this process; only ids and hashes are paged out to compute the release id,
 * and content is paged out once to write the JSONL files.
 */

type Conn = Kysely<Database> | Transaction<Database>;

/** Canonical content of the run's approved items (jsonb text is canonical: keys sorted, no spaces). */
const RUN_CONTENT = (runId: string, rulesVersion: string) => sql`
  select g.id as item_id, g.kind,
         (jsonb_build_object('id', g.id, 'kind', g.kind, 'run_id', g.run_id, 'topic', g.topic,
                             'target_band', g.target_band, 'source_segment_id', g.source_segment_id,
                             'model', g.model, 'prompt_version', g.prompt_version) || g.payload) as content
  from generated_items g
  join validations v on v.item_id = g.id and v.rules_version = ${rulesVersion} and v.status = 'approved'
  where g.run_id = ${runId}
  union all
  select c.id, 'segment',
         jsonb_build_object('id', c.id, 'kind', 'segment', 'run_id', ${runId}::text, 'text', s.text, 'part', c.part,
                            'segment_kind', c.kind, 'topic', c.topic, 'band', c.band, 'cefr', c.cefr,
                            'pronunciation_focus', c.pronunciation_focus, 'model', c.model,
                            'prompt_version', c.prompt_version, 'start_ms', s.start_ms, 'end_ms', s.end_ms)
  from classifications c
  join validations v on v.item_id = c.id and v.rules_version = ${rulesVersion} and v.status = 'approved'
  join segments s on s.id = c.segment_id
  join transcripts t on t.id = s.transcript_id
  where t.media_id in (select media_id from run_media where run_id = ${runId} and status = 'accepted')`;

const SHA = (expr: ReturnType<typeof sql>) => sql`encode(sha256(convert_to((${expr})::text, 'UTF8')), 'hex')`;

export async function latestCompleteRelease(db: Conn): Promise<string | null> {
  const r = await db
    .selectFrom('exports')
    .select('id')
    .where('status', '=', 'complete')
    .orderBy('completed_at', 'desc')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return r?.id ?? null;
}

/**
 * Stages the membership of the next release in a temporary table on this connection: the run's approved
 * items, plus every item of the previous release that belongs to another run. Content rows are written
 * (content-addressed, so re-writing is a no-op).
 */
export async function stageRelease(
  conn: Conn,
  o: { runId: string; rulesVersion: string; previous: string | null },
): Promise<number> {
  await sql`drop table if exists release_stage`.execute(conn);
  // No key yet: a bulk-built index after the bulk insert is cheaper than maintaining one row by row.
  await sql`create temporary table release_stage (item_id text not null, kind text not null, content_sha256 text not null, run_id text not null)`.execute(
    conn,
  );
  // One pass: content is built and hashed once, written to release_content (in key order, which keeps
  // its index inserts local) and staged.
  await sql`
    with rc as materialized (
      select ${SHA(sql`c.content`)} as sha, c.item_id, c.kind, c.content
      from (${RUN_CONTENT(o.runId, o.rulesVersion)}) c
    ), written as (
      insert into release_content (content_sha256, item_id, kind, content)
      select sha, item_id, kind, content from rc order by sha
      on conflict (content_sha256) do nothing
    )
    insert into release_stage (item_id, kind, content_sha256, run_id) select item_id, kind, sha, ${o.runId} from rc`.execute(
    conn,
  );
  await sql`create unique index release_stage_item on release_stage (item_id)`.execute(conn);
  if (o.previous) {
    await sql`
      insert into release_stage (item_id, kind, content_sha256, run_id)
      select ei.item_id, ei.kind, ei.content_sha256, c.content->>'run_id'
      from export_items ei join release_content c on c.content_sha256 = ei.content_sha256
      where ei.export_id = ${o.previous} and c.content->>'run_id' <> ${o.runId}
      on conflict (item_id) do nothing`.execute(conn);
  }
  const n = await sql<{ n: string }>`select count(*)::text as n from release_stage`.execute(conn);
  return Number(n.rows[0]?.n ?? 0);
}

/**
 * The release id: sha256 over the sorted (item id, content hash) pairs. PostgreSQL hashes them in chunks
 * of 10,000 (in item order) and only the chunk hashes come back, so memory here stays flat however large
 * the release is.
 */
export async function releaseIdOfStage(conn: Conn, _pageSize: number): Promise<string> {
  const chunks = await sql<{ h: string }>`
    select encode(sha256(convert_to(string_agg(item_id || ':' || content_sha256 || chr(10), '' order by item_id), 'UTF8')), 'hex') as h
    from (select item_id, content_sha256, (row_number() over (order by item_id) - 1) / 10000 as chunk from release_stage) s
    group by chunk order by chunk`.execute(conn);
  const h = createHash('sha256');
  for (const c of chunks.rows) h.update(`${c.h}\n`);
  return `rel_${h.digest('hex').slice(0, 32)}`;
}

export async function findRelease(db: Conn, id: string) {
  return db.selectFrom('exports').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Release row (pending) and its membership, in one transaction, from the stage table. */
export async function insertPendingRelease(
  tx: Transaction<Database>,
  o: { id: string; previous: string | null },
): Promise<{ counts: Record<string, number>; diff: Record<string, unknown>; runIds: string[] }> {
  const counts = Object.fromEntries(
    (
      await sql<{
        kind: string;
        n: string;
      }>`select kind, count(*)::text as n from release_stage group by kind order by kind`.execute(tx)
    ).rows.map((r) => [r.kind, Number(r.n)]),
  );
  const runIds = (
    await sql<{ run_id: string }>`select distinct run_id from release_stage order by 1`.execute(tx)
  ).rows.map((r) => r.run_id);
  let diff: Record<string, unknown> = {
    previousReleaseId: null,
    added: Object.values(counts).reduce((a, b) => a + b, 0),
    removed: 0,
    changed: 0,
  };
  if (o.previous) {
    const d = await sql<{ added: string; removed: string; changed: string }>`
      select
        (select count(*) from release_stage s where not exists (select 1 from export_items p where p.export_id = ${o.previous} and p.item_id = s.item_id))::text as added,
        (select count(*) from export_items p where p.export_id = ${o.previous} and not exists (select 1 from release_stage s where s.item_id = p.item_id))::text as removed,
        (select count(*) from export_items p join release_stage s on s.item_id = p.item_id where p.export_id = ${o.previous} and s.content_sha256 <> p.content_sha256)::text as changed`.execute(
      tx,
    );
    const row = d.rows[0];
    diff = {
      previousReleaseId: o.previous,
      added: Number(row?.added),
      removed: Number(row?.removed),
      changed: Number(row?.changed),
    };
  }
  const itemCount = Object.values(counts).reduce((a, b) => a + b, 0);
  await tx
    .insertInto('exports')
    .values({
      id: o.id,
      status: 'pending',
      run_ids: JSON.stringify(runIds),
      counts: JSON.stringify(counts),
      diff: JSON.stringify(diff),
      item_count: itemCount,
    })
    .execute();
  await sql`
    insert into export_items (export_id, item_id, kind, content_sha256)
    select ${o.id}, item_id, kind, content_sha256 from release_stage order by item_id`.execute(tx);
  return { counts, diff, runIds };
}

/** One page of a release's content in (kind, item) order: the JSONL lines of all files in one pass. */
export async function releaseContentPage(
  db: Conn,
  id: string,
  after: { kind: string; itemId: string },
  limit: number,
) {
  const r = await sql<{ kind: string; item_id: string; line: string }>`
    select ei.kind, ei.item_id, c.content::text as line
    from export_items ei join release_content c on c.content_sha256 = ei.content_sha256
    where ei.export_id = ${id} and (ei.export_id, ei.kind, ei.item_id) > (${id}, ${after.kind}, ${after.itemId})
    order by ei.export_id, ei.kind, ei.item_id limit ${limit}`.execute(db);
  return r.rows;
}

/** Distinct models and prompt versions in a release (for its manifest). */
export async function releaseProvenance(db: Conn, id: string) {
  const r = await sql<{ models: string[] | null; prompts: string[] | null }>`
    select array_agg(distinct c.content->>'model') as models, array_agg(distinct c.content->>'prompt_version') as prompts
    from export_items ei join release_content c on c.content_sha256 = ei.content_sha256
    where ei.export_id = ${id}`.execute(db);
  return {
    models: (r.rows[0]?.models ?? []).filter(Boolean).sort(),
    promptVersions: (r.rows[0]?.prompts ?? []).filter(Boolean).sort(),
  };
}

export async function completeRelease(db: Conn, id: string, manifestKey: string): Promise<void> {
  await db
    .updateTable('exports')
    .set({ status: 'complete', completed_at: new Date(), manifest_key: manifestKey })
    .where('id', '=', id)
    .execute();
}
