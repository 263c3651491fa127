import { createHash } from 'node:crypto';
import type { Database } from '@pronielts/shared/db';
import { type Kysely, sql, type Transaction } from 'kysely';

/**
 * Release SQL (releases v2, docs/decisions/0009-exporter.md).
 *
 * Releases form a chain: `exports.seq` orders them, and `release_items` holds one row per version of an
 * item with the release that added it (`added_seq`) and the one that retired it (`removed_seq`). Release S
 * is every version with added_seq <= S < coalesce(removed_seq, ∞); the newest release ("head") is every
 * row with removed_seq null. An export writes only the change a run makes to the head, inside PostgreSQL
 * (INSERT/UPDATE … SELECT): a release of a million items never travels through this process, and a
 * second export of the same run changes nothing.
 *
 * Generated items are immutable (their id hashes the task that made them and rows are insert-only), so
 * their versions carry no content copy: the release files join them from `generated_items`. Segment
 * versions keep a snapshot and its sha256 because a classification can be revised in place.
 */

type Conn = Kysely<Database> | Transaction<Database>;

/** Serialises exports: one chain, one writer at a time (transaction-scoped, released at commit). */
const EXPORT_LOCK = 0x70726f6e; // "pron"

/** The JSONL line of a generated item, built from its row (jsonb text: keys sorted, canonical). */
const GENERATED_LINE = (g: string) =>
  sql.raw(`(jsonb_build_object('id', ${g}.id, 'kind', ${g}.kind, 'run_id', ${g}.run_id, 'topic', ${g}.topic,
      'target_band', ${g}.target_band, 'source_segment_id', ${g}.source_segment_id,
      'model', ${g}.model, 'prompt_version', ${g}.prompt_version) || ${g}.payload)`);

/** The run's approved generated items (immutable: a version is the item id itself). */
const RUN_GENERATED = (runId: string, rulesVersion: string) => sql`
  select g.id as item_id, g.kind, g.model, g.prompt_version, null::text as content_sha256, null::jsonb as content
  from generated_items g
  join validations v on v.item_id = g.id and v.rules_version = ${rulesVersion} and v.status = 'approved'
  where g.run_id = ${runId}`;

/** The run's approved segments, each with a content snapshot and its sha256 (classifications change). */
const RUN_SEGMENTS = (runId: string, rulesVersion: string) => sql`
  select s.item_id, 'segment' as kind, s.model, s.prompt_version,
         encode(sha256(convert_to(s.content::text, 'UTF8')), 'hex') as content_sha256, s.content
  from (
    select c.id as item_id, c.model, c.prompt_version,
           jsonb_build_object('id', c.id, 'kind', 'segment', 'run_id', ${runId}::text, 'text', sg.text,
                              'part', c.part, 'segment_kind', c.kind, 'topic', c.topic, 'band', c.band,
                              'cefr', c.cefr, 'pronunciation_focus', c.pronunciation_focus, 'model', c.model,
                              'prompt_version', c.prompt_version, 'start_ms', sg.start_ms, 'end_ms', sg.end_ms) as content
    from classifications c
    join validations v on v.item_id = c.id and v.rules_version = ${rulesVersion} and v.status = 'approved'
    join segments sg on sg.id = c.segment_id
    join transcripts t on t.id = sg.transcript_id
    where t.media_id in (select media_id from run_media where run_id = ${runId} and status = 'accepted')
  ) s`;

/** The run's approved items as release versions. */
const RUN_ITEMS = (runId: string, rulesVersion: string) =>
  sql`${RUN_GENERATED(runId, rulesVersion)} union all ${RUN_SEGMENTS(runId, rulesVersion)}`;

/** Count and sha256 of the sorted change lines of a data-modifying CTE `x` returning `line`. */
const CHANGE_OF = sql`select count(*)::int as n,
  encode(sha256(convert_to(coalesce(string_agg(line, chr(10) order by line), ''), 'UTF8')), 'hex') as digest from x`;

export interface ReleaseRow {
  id: string;
  seq: number;
  status: 'pending' | 'complete';
  counts: Record<string, number>;
  diff: Record<string, unknown>;
  run_ids: string[];
  item_count: number;
  manifest_key: string | null;
}

const RELEASE_COLUMNS = [
  'id',
  'seq',
  'status',
  'counts',
  'diff',
  'run_ids',
  'item_count',
  'manifest_key',
] as const;

/** The newest release of the chain, pending or complete. */
export async function headRelease(db: Conn): Promise<ReleaseRow | undefined> {
  return db.selectFrom('exports').select(RELEASE_COLUMNS).orderBy('seq', 'desc').limit(1).executeTakeFirst();
}

/** Releases whose rows are committed but whose files and manifest are not (a crashed export). */
export async function pendingReleases(db: Conn): Promise<ReleaseRow[]> {
  return db
    .selectFrom('exports')
    .select(RELEASE_COLUMNS)
    .where('status', '=', 'pending')
    .orderBy('seq')
    .execute();
}

export interface Change {
  added: number;
  changed: number;
  removed: number;
  /** sha256 over the sorted change lines; with the previous release id it names the release. */
  digest: string;
}

/**
 * Applies the run's change to the head as release `seq` (inside the caller's transaction, which holds the
 * export lock): retires the versions the run replaces or no longer approves, then inserts its new
 * versions. Returns the change; an empty change means the run's approved content is already released.
 */
export async function applyRunChange(
  tx: Transaction<Database>,
  o: { runId: string; rulesVersion: string; seq: number },
): Promise<Change> {
  await sql`select pg_advisory_xact_lock(${EXPORT_LOCK})`.execute(tx);
  // Sorts and hashes of a run's items stay in memory (the default 4 MB spills a large run to disk).
  await sql`set local work_mem = '256MB'`.execute(tx);
  const q = (query: ReturnType<typeof sql>) =>
    query
      .execute(tx)
      .then((r) => (r.rows[0] as { n: number; digest: string } | undefined) ?? { n: 0, digest: '' });
  // Removed: live versions of this run that the rules no longer approve. Only the head's rows of this run
  // are probed, one lookup each (a fresh run has none, and this reads nothing).
  const removed = await q(sql`
    with x as (
      update release_items h set removed_seq = ${o.seq}
      where h.removed_seq is null and h.run_id = ${o.runId}
        and not exists (select 1 from (${RUN_ITEMS(o.runId, o.rulesVersion)}) ri where ri.item_id = h.item_id)
      returning '-' || h.item_id as line
    ) ${CHANGE_OF}`);
  // Replaced: live segment versions whose snapshot the run revises (generated items never change).
  const replaced = await q(sql`
    with x as (
      update release_items h set removed_seq = ${o.seq}
      from (${RUN_SEGMENTS(o.runId, o.rulesVersion)}) s
      where h.removed_seq is null and h.kind = 'segment' and h.item_id = s.item_id
        and h.content_sha256 is distinct from s.content_sha256
      returning '~' || h.item_id as line
    ) ${CHANGE_OF}`);
  // Added: the run's versions not live in the head (new items, and the replacements just retired), in
  // item order so the index inserts stay local.
  const added = await q(sql`
    with ri as materialized (${RUN_ITEMS(o.runId, o.rulesVersion)}), x as (
      insert into release_items (item_id, added_seq, kind, run_id, model, prompt_version, content_sha256, content)
      select ri.item_id, ${o.seq}, ri.kind, ${o.runId}, ri.model, ri.prompt_version, ri.content_sha256, ri.content
      from ri
      where not exists (select 1 from release_items h where h.item_id = ri.item_id and h.removed_seq is null)
      order by ri.item_id
      returning '+' || item_id || ':' || coalesce(content_sha256, '') as line
    ) ${CHANGE_OF}`);
  const digest = createHash('sha256')
    .update(`removed ${removed.digest}\nreplaced ${replaced.digest}\nadded ${added.digest}\n`)
    .digest('hex');
  return { added: added.n - replaced.n, changed: replaced.n, removed: removed.n, digest };
}

/** The id of the release that follows `previousId` with `change`: a hash chain, like commits. */
export function releaseIdOf(previousId: string | null, change: Change): string {
  const h = createHash('sha256').update(`pronielts-release-v2\n${previousId ?? ''}\n${change.digest}\n`);
  return `rel_${h.digest('hex').slice(0, 32)}`;
}

/** Counts per kind, source runs and provenance of the head (the release just staged). */
export async function headSummary(db: Conn) {
  const rows = await sql<{
    kind: string;
    run_id: string;
    model: string | null;
    prompt_version: string | null;
    n: number;
  }>`
    select kind, run_id, model, prompt_version, count(*)::int as n
    from release_items where removed_seq is null
    group by kind, run_id, model, prompt_version`.execute(db);
  const counts: Record<string, number> = {};
  const runs = new Set<string>();
  const models = new Set<string>();
  const prompts = new Set<string>();
  for (const r of rows.rows) {
    counts[r.kind] = (counts[r.kind] ?? 0) + r.n;
    runs.add(r.run_id);
    if (r.model) models.add(r.model);
    if (r.prompt_version) prompts.add(r.prompt_version);
  }
  const sorted = (s: Set<string>) => [...s].sort();
  return {
    counts: Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))),
    runIds: sorted(runs),
    models: sorted(models),
    promptVersions: sorted(prompts),
  };
}

export async function insertPendingRelease(
  tx: Transaction<Database>,
  o: {
    id: string;
    seq: number;
    previousId: string | null;
    counts: Record<string, number>;
    diff: Record<string, unknown>;
    runIds: string[];
  },
): Promise<void> {
  await tx
    .insertInto('exports')
    .values({
      id: o.id,
      seq: o.seq,
      previous_id: o.previousId,
      status: 'pending',
      run_ids: JSON.stringify(o.runIds),
      counts: JSON.stringify(o.counts),
      diff: JSON.stringify(o.diff),
      item_count: Object.values(o.counts).reduce((x, y) => x + y, 0),
    })
    .execute();
}

/** Distinct models and prompt versions of release `seq`. */
export async function releaseProvenance(db: Conn, seq: number) {
  const r = await sql<{ models: string[] | null; prompts: string[] | null }>`
    select array_agg(distinct model) filter (where model is not null) as models,
           array_agg(distinct prompt_version) filter (where prompt_version is not null) as prompts
    from release_items where added_seq <= ${seq} and (removed_seq is null or removed_seq > ${seq})`.execute(
    db,
  );
  return {
    models: (r.rows[0]?.models ?? []).sort(),
    promptVersions: (r.rows[0]?.prompts ?? []).sort(),
  };
}

/**
 * The JSONL lines of one kind of release `seq`, in item order. `afterItemId`/`limit` page it (the embedded
 * database); the PostgreSQL path streams the unpaged query with COPY … TO STDOUT.
 */
export function releaseLinesQuery(seq: number, kind: string, page?: { afterItemId: string; limit: number }) {
  return sql<{ item_id: string; line: string }>`
    select ri.item_id, coalesce(ri.content, ${GENERATED_LINE('g')})::text as line
    from release_items ri left join generated_items g on ri.content is null and g.id = ri.item_id
    where ri.kind = ${kind} and ri.added_seq <= ${seq} and (ri.removed_seq is null or ri.removed_seq > ${seq})
      ${page ? sql`and ri.item_id > ${page.afterItemId}` : sql``}
    order by ri.item_id
    ${page ? sql`limit ${page.limit}` : sql``}`;
}

export async function completeRelease(db: Conn, id: string, manifestKey: string): Promise<void> {
  await db
    .updateTable('exports')
    .set({ status: 'complete', completed_at: new Date(), manifest_key: manifestKey })
    .where('id', '=', id)
    .execute();
}
