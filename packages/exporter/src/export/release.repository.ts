import { createHash } from 'node:crypto';
import type { ReleaseGroup } from '@pronielts/shared/contracts';
import type { Database } from '@pronielts/shared/db';
import { type Kysely, sql, type Transaction } from 'kysely';

/**
 * Release SQL (releases v4, docs/decisions/0009-exporter.md).
 *
 * Releases form a chain: `exports.seq` orders them, and every item a release holds is recorded with the
 * release that added it (`added_seq`) and the one that retired it (`removed_seq`). Release S is every
 * entry with added_seq <= S < coalesce(removed_seq, ∞); the newest release ("head") is every entry with
 * removed_seq null. An export writes only the change a run makes to the head, inside PostgreSQL
 * (INSERT/UPDATE … SELECT): a release of a million items never travels through this process, and a
 * second export of the same run changes nothing.
 *
 * Two tables hold the entries. Generated items are immutable (their id hashes the task that made them,
 * rows are insert-only) and belong to one run, so a release needs only their ids: `release_sets` holds
 * them as arrays, one row per (run, kind, model, prompt version) group and chunk, and the release files
 * join their content from `generated_items`. A run is added or retired as a whole: exporting it again
 * after a change retires its sets and writes new ones. Segments keep one row per version in
 * `release_items` with a snapshot and its sha256, because a classification can be revised in place. The
 * view `release_members` shows both as one row per item version.
 *
 * The release files are read as raw columns ({@link LineRow}) and rendered to JSON lines in the exporter
 * (lines.ts): building a million JSON objects in SQL cost more than everything else the query does.
 */

type Conn = Kysely<Database> | Transaction<Database>;

/** Serialises exports: one chain, one writer at a time. */
const EXPORT_LOCK = 0x70726f6e; // "pron"

/**
 * Settings of the transaction that writes a release: the run's items are sorted and hashed in memory,
 * not in temporary files (the default work_mem of 4 MB spills); no parallel workers (the file reader runs
 * beside this transaction on the other cores, and the workers' plans repeat whole joins); no JIT
 * compilation (these statements sort, hash and insert; compiling their expressions costs more than it
 * saves).
 */
export async function releaseTransactionSettings(tx: Transaction<Database>): Promise<void> {
  await sql`set local work_mem = '256MB'`.execute(tx);
  await sql`set local max_parallel_workers_per_gather = 0`.execute(tx);
  await sql`set local jit = off`.execute(tx);
}

/** The exclusive lock an export holds from before its snapshot until its release row is committed. */
export async function lockExports(db: Conn): Promise<void> {
  await sql`select pg_advisory_lock(${EXPORT_LOCK})`.execute(db);
}

export async function unlockExports(db: Conn): Promise<void> {
  await sql`select pg_advisory_unlock(${EXPORT_LOCK})`.execute(db);
}

/**
 * The columns a release line is rendered from (lines.ts): a segment version's stored snapshot, or a
 * generated item's row. `g` is `generated_items`, or null columns when `content` is set.
 */
export interface LineRow {
  item_id: string;
  content: string | null;
  kind: string | null;
  run_id: string | null;
  topic: string | null;
  target_band: string | number | null;
  source_segment_id: string | null;
  model: string | null;
  prompt_version: string | null;
  payload: string | null;
}

const LINE_COLUMNS = (item: string, content: string) =>
  sql.raw(`${item} as item_id, ${content}::text as content, g.kind, g.run_id, g.topic, g.target_band::text as target_band,
      g.source_segment_id, g.model, g.prompt_version, g.payload::text as payload`);

/** The run's approved generated items (immutable: a version is the item id itself). */
const RUN_GENERATED = (runId: string, rulesVersion: string) => sql`
  select g.id as item_id, g.kind, g.model, g.prompt_version, null::text as content_sha256, null::jsonb as content
  from generated_items g
  join validations v on v.item_id = g.id and v.rules_version = ${rulesVersion} and v.status = 'approved'
  where g.run_id = ${runId}`;

/**
 * The run's published segments, each with a content snapshot and its sha256 (classifications change):
 * approved ones, and those flagged needs_review (with the flags: `needs_review`, `review`).
 */
const RUN_SEGMENTS = (runId: string, rulesVersion: string) => sql`
  select s.item_id, 'segment' as kind, s.model, s.prompt_version,
         encode(sha256(convert_to(s.content::text, 'UTF8')), 'hex') as content_sha256, s.content
  from (
    select c.id as item_id, c.model, c.prompt_version,
           jsonb_build_object('id', c.id, 'kind', 'segment', 'run_id', ${runId}::text, 'text', sg.text,
                              'part', c.part, 'segment_kind', c.kind, 'topic', c.topic, 'band', c.band,
                              'cefr', c.cefr, 'pronunciation_focus', c.pronunciation_focus, 'model', c.model,
                              'prompt_version', c.prompt_version, 'start_ms', sg.start_ms, 'end_ms', sg.end_ms,
                              'turn', sg.turn, 'needs_review', v.status = 'needs_review',
                              'review', case when v.status = 'needs_review' then v.reasons else '[]'::jsonb end) as content
    from classifications c
    join validations v on v.item_id = c.id and v.rules_version = ${rulesVersion}
      and v.status in ('approved', 'needs_review')
    join segments sg on sg.id = c.segment_id
    join transcripts t on t.id = sg.transcript_id
    where t.media_id in (select media_id from run_media where run_id = ${runId} and status = 'accepted')
  ) s`;

/** At most this many ids in one release_sets row (~4 MB): a run's group is stored in chunks. */
const SET_CHUNK = 100_000;

/** The entries of release `seq` (release_items or release_sets, aliased or not). */
const LIVE_AT = (seq: number, t = '') => {
  const c = (name: string) => sql.ref(t ? `${t}.${name}` : name);
  return sql`${c('added_seq')} <= ${seq} and (${c('removed_seq')} is null or ${c('removed_seq')} > ${seq})`;
};

/** The ids in the live release sets of `runId`. */
const LIVE_SET_IDS = (runId: string) => sql`
  select u.item_id from release_sets s cross join lateral unnest(s.item_ids) as u(item_id)
  where s.run_id = ${runId} and s.removed_seq is null`;

export interface ReleaseRow {
  id: string;
  seq: number;
  status: 'pending' | 'complete';
  counts: Record<string, number>;
  diff: Record<string, unknown>;
  run_ids: string[];
  item_count: number;
  manifest_key: string | null;
  composition: ReleaseGroup[] | null;
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
  'composition',
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
}

/** {@link runChangesHead}'s answer. */
export interface HeadCheck {
  changes: boolean;
  /**
   * How the run's approved generated items differ from its live sets, when the check had to compare
   * them (a run the head holds whose segments are unchanged). Same transaction, same snapshot: the
   * change reuses it instead of comparing again.
   */
  generated?: { added: number; removed: number };
}

/**
 * Whether exporting the run would change the head. `runInHead`: the head holds entries of this run (its
 * release row lists the run), so some may have to be retired.
 *
 * A run the head does not hold (the usual export) changes it exactly when it has an approved generated
 * item (no live set can hold one) or an approved segment version that is not live: the first such item
 * answers, so this costs nothing. A run the head holds (a re-run, or a re-export after re-validation) is
 * compared in full, both ways, with hash joins; a fast-start plan there would probe the head once per
 * item, or worse.
 */
export async function runChangesHead(
  db: Conn,
  o: { runId: string; rulesVersion: string; runInHead: boolean },
): Promise<HeadCheck> {
  if (!o.runInHead) {
    // One EXISTS per source: over their union the planner builds a hash of every validation first.
    const r = await sql<{ changes: boolean }>`
      select exists (${RUN_GENERATED(o.runId, o.rulesVersion)})
          or exists (select 1 from (${RUN_SEGMENTS(o.runId, o.rulesVersion)}) ri
                     where not exists (select 1 from release_items h where h.item_id = ri.item_id and h.removed_seq is null
                                         and h.content_sha256 is not distinct from ri.content_sha256)) as changes`.execute(
      db,
    );
    return { changes: r.rows[0]?.changes === true };
  }
  const segments = await withoutNestedLoops(db, () => segmentChange(db, o));
  if (segments.added + segments.changed + segments.removed > 0) return { changes: true };
  const generated = await generatedChange(db, o);
  return { changes: generated.added + generated.removed > 0, generated };
}

/**
 * How the run's approved segments differ from its live segment versions: new items, revised snapshots,
 * and live versions no longer approved.
 */
async function segmentChange(db: Conn, o: { runId: string; rulesVersion: string }): Promise<Change> {
  const r = await sql<Change>`
    with ri as materialized (${RUN_SEGMENTS(o.runId, o.rulesVersion)})
    select (select count(*) from ri where not exists
              (select 1 from release_items h where h.item_id = ri.item_id and h.removed_seq is null))::int as added,
           (select count(*) from ri join release_items h on h.item_id = ri.item_id and h.removed_seq is null
              where h.content_sha256 is distinct from ri.content_sha256)::int as changed,
           (select count(*) from release_items h
              where h.removed_seq is null and h.run_id = ${o.runId}
                and not exists (select 1 from ri where ri.item_id = h.item_id))::int as removed`.execute(db);
  return r.rows[0] ?? { added: 0, changed: 0, removed: 0 };
}

/** How the run's approved generated items differ from the ids in its live release sets. */
async function generatedChange(
  db: Conn,
  o: { runId: string; rulesVersion: string },
): Promise<{ added: number; removed: number }> {
  return withoutNestedLoops(db, async () => {
    const r = await sql<{ added: number; removed: number }>`
      with gen as materialized (select item_id from (${RUN_GENERATED(o.runId, o.rulesVersion)}) g),
           live as materialized (${LIVE_SET_IDS(o.runId)})
      select (select count(*) from gen where not exists (select 1 from live where live.item_id = gen.item_id))::int as added,
             (select count(*) from live where not exists (select 1 from gen where gen.item_id = live.item_id))::int as removed`.execute(
      db,
    );
    return r.rows[0] ?? { added: 0, removed: 0 };
  });
}

/**
 * Runs `query` (inside the caller's transaction) with nested loops disabled. For the statements that
 * compare a run's items with the head as a whole, a nested loop is never right and can be ruinous: with
 * statistics taken before the last export wrote its rows (before autovacuum analyses them), the planner
 * takes the head for empty and re-runs the run's join once per head row.
 */
async function withoutNestedLoops<T>(db: Conn, query: () => Promise<T>): Promise<T> {
  await sql`set local enable_nestloop = off`.execute(db);
  // No finally: a failed statement aborts the transaction, and the setting goes with it.
  const result = await query();
  await sql`set local enable_nestloop = on`.execute(db);
  return result;
}

/** What a run's change did to the head, and the groups it added (n > 0) and retired (n < 0). */
export interface AppliedChange {
  change: Change;
  delta: ReleaseGroup[];
}

/** The rows a data-modifying CTE `x` returned (each with its item count `n`), as {@link ReleaseGroup}s. */
const GROUPS_OF = sql`select kind, run_id, model, prompt_version, sum(n)::int as n from x group by 1, 2, 3, 4`;
/** What a release_items statement returns per row: its group and one item. */
const RETURNING_VERSION = (t: string) =>
  sql.raw(`returning ${t}.kind, ${t}.run_id, ${t}.model, ${t}.prompt_version, 1 as n`);

/**
 * Applies the run's change to the head as release `seq` (inside the caller's transaction, under the export
 * lock). Segments: retires the versions the run replaces or no longer approves, then inserts its new
 * versions. Generated items: a run the head does not hold gets its sets; a run it holds whose approved
 * items changed has its live sets retired and new ones written (an unchanged one is left alone).
 */
export async function applyRunChange(
  tx: Transaction<Database>,
  o: {
    runId: string;
    rulesVersion: string;
    seq: number;
    runInHead: boolean;
    /** The generated change {@link runChangesHead} computed in this transaction, if it did. */
    generated?: { added: number; removed: number } | undefined;
  },
): Promise<AppliedChange> {
  const groups = (query: ReturnType<typeof sql>) => query.execute(tx).then((r) => r.rows as ReleaseGroup[]);
  // Removed: live segment versions of this run that the rules no longer approve (a run the head does not
  // hold has none).
  const removed = !o.runInHead
    ? []
    : await withoutNestedLoops(tx, () =>
        groups(sql`
          with x as (
            update release_items h set removed_seq = ${o.seq}
            where h.removed_seq is null and h.run_id = ${o.runId}
              and not exists (select 1 from (${RUN_SEGMENTS(o.runId, o.rulesVersion)}) ri where ri.item_id = h.item_id)
            ${RETURNING_VERSION('h')}
          ) ${GROUPS_OF}`),
      );
  // Replaced: live segment versions whose snapshot the run revises.
  const replaced = await groups(sql`
    with x as (
      update release_items h set removed_seq = ${o.seq}
      from (${RUN_SEGMENTS(o.runId, o.rulesVersion)}) s
      where h.removed_seq is null and h.item_id = s.item_id
        and h.content_sha256 is distinct from s.content_sha256
      ${RETURNING_VERSION('h')}
    ) ${GROUPS_OF}`);
  // Added: the run's segment versions not live in the head (new items, and the replacements just
  // retired), in item order so the index inserts stay local.
  const added = await groups(sql`
    with x as (
      insert into release_items (item_id, added_seq, kind, run_id, model, prompt_version, content_sha256, content)
      select ri.item_id, ${o.seq}, ri.kind, ${o.runId}, ri.model, ri.prompt_version, ri.content_sha256, ri.content
      from (${RUN_SEGMENTS(o.runId, o.rulesVersion)}) ri
      where not exists (select 1 from release_items h where h.item_id = ri.item_id and h.removed_seq is null)
      order by ri.item_id collate "C"
      ${RETURNING_VERSION('release_items')}
    ) ${GROUPS_OF}`);
  const total = (g: ReleaseGroup[]) => g.reduce((n, x) => n + x.n, 0);
  // The next export plans its queries with statistics that know these rows (autovacuum analyses a
  // large insert only later).
  if (total(added) + total(removed) > 0) await sql`analyze release_items`.execute(tx);

  // Generated items: a run the head holds is compared with its live sets, one it does not is new.
  const generated = o.runInHead ? (o.generated ?? (await generatedChange(tx, o))) : undefined;
  let retiredSets: ReleaseGroup[] = [];
  let addedSets: ReleaseGroup[] = [];
  if (!generated || generated.added + generated.removed > 0) {
    if (generated)
      retiredSets = await groups(sql`
        with x as (
          update release_sets set removed_seq = ${o.seq}
          where run_id = ${o.runId} and removed_seq is null
          returning kind, run_id, model, prompt_version, n
        ) ${GROUPS_OF}`);
    addedSets = await insertRunSets(tx, o);
  }

  const retired = [...removed, ...replaced, ...retiredSets].map((g) => ({ ...g, n: -g.n }));
  return {
    change: {
      added: total(added) - total(replaced) + (generated?.added ?? total(addedSets)),
      changed: total(replaced),
      removed: total(removed) + (generated?.removed ?? 0),
    },
    delta: [...added, ...addedSets, ...retired],
  };
}

/**
 * Writes the run's approved generated items as release sets added by release `seq`: one row per group
 * and chunk of at most {@link SET_CHUNK} ids. Chunks are cut by position in the scan (`row_number()
 * over ()`, no sort), so a group may be split into more chunks than it strictly needs, never larger ones.
 */
async function insertRunSets(
  tx: Transaction<Database>,
  o: { runId: string; rulesVersion: string; seq: number },
): Promise<ReleaseGroup[]> {
  const r = await sql<ReleaseGroup>`
    with x as (
      insert into release_sets (run_id, kind, model, prompt_version, chunk, added_seq, n, item_ids)
      select ${o.runId}, kind, model, prompt_version, chunk, ${o.seq}, count(*), array_agg(item_id)
      from (
        select g.item_id, g.kind, g.model, g.prompt_version,
               ((row_number() over ()) - 1) / ${sql.lit(SET_CHUNK)} as chunk
        from (${RUN_GENERATED(o.runId, o.rulesVersion)}) g
      ) c
      group by kind, model, prompt_version, chunk
      returning kind, run_id, model, prompt_version, n
    ) ${GROUPS_OF}`.execute(tx);
  return r.rows;
}

const groupKey = (g: ReleaseGroup) => JSON.stringify([g.kind, g.run_id, g.model, g.prompt_version]);

/**
 * The composition of the release a change makes: the previous release's groups plus the change's
 * (added groups count up, retired ones down), empty groups dropped, sorted. Exact, because every row the
 * change writes is in its delta; a group going negative means the previous composition was wrong.
 */
export function nextComposition(previous: ReleaseGroup[], delta: ReleaseGroup[]): ReleaseGroup[] {
  const groups = new Map(previous.map((g) => [groupKey(g), { ...g }]));
  for (const d of delta) {
    const key = groupKey(d);
    const g = groups.get(key) ?? { ...d, n: 0 };
    g.n += d.n;
    groups.set(key, g);
  }
  const next = [...groups.values()];
  const negative = next.find((g) => g.n < 0);
  if (negative)
    throw new Error(
      `release composition diverged from release_items: group ${groupKey(negative)} would hold ${negative.n} items`,
    );
  return sortGroups(next.filter((g) => g.n > 0));
}

/** Groups in (kind, run, model, prompt version) order, compared by code unit (locale-independent). */
function sortGroups(groups: ReleaseGroup[]): ReleaseGroup[] {
  const cmp = (a: string | null, b: string | null) =>
    (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0;
  return groups.sort(
    (a, b) =>
      cmp(a.kind, b.kind) ||
      cmp(a.run_id, b.run_id) ||
      cmp(a.model, b.model) ||
      cmp(a.prompt_version, b.prompt_version),
  );
}

/** Counts per kind, source runs and provenance of a release, from its composition. */
export function summaryOf(composition: ReleaseGroup[]) {
  const counts: Record<string, number> = {};
  const runs = new Set<string>();
  const models = new Set<string>();
  const prompts = new Set<string>();
  for (const g of composition) {
    counts[g.kind] = (counts[g.kind] ?? 0) + g.n;
    runs.add(g.run_id);
    if (g.model) models.add(g.model);
    if (g.prompt_version) prompts.add(g.prompt_version);
  }
  const sorted = (s: Set<string>) => [...s].sort();
  return {
    counts: Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    items: Object.values(counts).reduce((a, b) => a + b, 0),
    runIds: sorted(runs),
    models: sorted(models),
    promptVersions: sorted(prompts),
  };
}

/**
 * The head's composition, grouped from its live items: for a head whose row has none recorded (written
 * before exports.composition) or whose recorded one does not add up to its item count.
 */
export async function headComposition(db: Conn): Promise<ReleaseGroup[]> {
  const r = await sql<ReleaseGroup>`
    select kind, run_id, model, prompt_version, sum(n)::int as n from (
      select kind, run_id, model, prompt_version, 1 as n from release_items where removed_seq is null
      union all
      select kind, run_id, model, prompt_version, n from release_sets where removed_seq is null
    ) h
    group by 1, 2, 3, 4`.execute(db);
  return sortGroups(r.rows);
}

/** The head's recorded composition when it is usable (present and adding up to its item count). */
export function recordedComposition(head: ReleaseRow | undefined): ReleaseGroup[] | undefined {
  if (!head) return [];
  const c = head.composition;
  if (!Array.isArray(c) || c.reduce((n, g) => n + g.n, 0) !== head.item_count) return undefined;
  return c;
}

/**
 * The id of the release that exporting `runId` under `rulesVersion` makes after `previousId`: a hash
 * chain, like commits, known before anything is written (the files are written under it while the
 * change is). Exporting the same run again finds no change and names the release that holds it.
 */
export function releaseIdOf(previousId: string | null, runId: string, rulesVersion: string): string {
  const h = createHash('sha256').update(
    `pronielts-release-v3\n${previousId ?? ''}\n${runId}\n${rulesVersion}\n`,
  );
  return `rel_${h.digest('hex').slice(0, 32)}`;
}

export async function insertPendingRelease(
  tx: Transaction<Database>,
  o: {
    id: string;
    seq: number;
    previousId: string | null;
    composition: ReleaseGroup[];
    diff: Record<string, unknown>;
  },
): Promise<void> {
  const summary = summaryOf(o.composition);
  await tx
    .insertInto('exports')
    .values({
      id: o.id,
      seq: o.seq,
      previous_id: o.previousId,
      status: 'pending',
      run_ids: JSON.stringify(summary.runIds),
      counts: JSON.stringify(summary.counts),
      diff: JSON.stringify(o.diff),
      item_count: summary.items,
      composition: JSON.stringify(o.composition),
    })
    .execute();
}

/** Distinct models and prompt versions of release `seq` (from its entries: a release without a composition). */
export async function releaseProvenance(db: Conn, seq: number) {
  const live = LIVE_AT(seq);
  const r = await sql<{ models: string[] | null; prompts: string[] | null }>`
    select array_agg(distinct model) filter (where model is not null) as models,
           array_agg(distinct prompt_version) filter (where prompt_version is not null) as prompts
    from (
      select model, prompt_version from release_items where ${live}
      union all
      select model, prompt_version from release_sets where ${live}
    ) r`.execute(db);
  return {
    models: (r.rows[0]?.models ?? []).sort(),
    promptVersions: (r.rows[0]?.prompts ?? []).sort(),
  };
}

/** Release files of generated kinds: the ids of release sets `s` unnested and joined to their items. */
const SET_ITEMS = sql`release_sets s cross join lateral unnest(s.item_ids) as u(item_id)
      join generated_items g on g.id = u.item_id`;

/**
 * The line rows of one kind of the committed release `seq`, in item order. `afterItemId`/`limit` page it
 * (the embedded database); on PostgreSQL the unpaged query is streamed with COPY … TO STDOUT.
 */
export function releaseRowsQuery(seq: number, kind: string, page?: { afterItemId: string; limit: number }) {
  const from =
    kind === 'segment'
      ? sql`select ${LINE_COLUMNS('ri.item_id', 'ri.content')}
            from release_items ri left join generated_items g on false
            where ri.kind = ${kind} and ${LIVE_AT(seq, 'ri')}`
      : sql`select ${LINE_COLUMNS('u.item_id', 'null')}
            from ${SET_ITEMS}
            where s.kind = ${kind} and ${LIVE_AT(seq, 's')}`;
  return sql<LineRow>`
    select * from (${from}) r
    ${page ? sql`where r.item_id > ${page.afterItemId}` : sql``}
    order by r.item_id collate "C"
    ${page ? sql`limit ${page.limit}` : sql``}`;
}

/**
 * The line rows of one kind of the release that exporting the run makes, read from the snapshot *before*
 * its change is applied: the run's approved items, and the head's entries of other runs that the run
 * does not replace. This is the head {@link applyRunChange} leaves behind, row for row (it retires only
 * the run's own entries and segment versions the run revises, and adds the run's approved items), so the
 * files can be written while the change is, from the same snapshot (export.ts). Generated items belong to
 * exactly one run (`generated_items.run_id`), so only segments, which a media file shared by two runs can
 * put in both, need the not-replaced test.
 */
export function nextReleaseRowsQuery(o: { runId: string; rulesVersion: string; kind: string }) {
  const query =
    o.kind === 'segment'
      ? sql`select ${LINE_COLUMNS('s.item_id', 's.content')}
            from (${RUN_SEGMENTS(o.runId, o.rulesVersion)}) s
            left join generated_items g on false
            union all
            select ${LINE_COLUMNS('h.item_id', 'h.content')}
            from release_items h left join generated_items g on false
            where h.removed_seq is null and h.run_id <> ${o.runId}
              and not exists (select 1 from (${RUN_SEGMENTS(o.runId, o.rulesVersion)}) s where s.item_id = h.item_id)`
      : sql`select ${LINE_COLUMNS('g.id', 'null')}
            from generated_items g
            join validations v on v.item_id = g.id and v.rules_version = ${o.rulesVersion} and v.status = 'approved'
            where g.run_id = ${o.runId} and g.kind = ${o.kind}
            union all
            select ${LINE_COLUMNS('u.item_id', 'null')}
            from ${SET_ITEMS}
            where s.removed_seq is null and s.kind = ${o.kind} and s.run_id <> ${o.runId}`;
  return sql<LineRow>`select * from (${query}) r order by r.item_id collate "C"`;
}

export async function completeRelease(db: Conn, id: string, manifestKey: string): Promise<void> {
  await db
    .updateTable('exports')
    .set({ status: 'complete', completed_at: new Date(), manifest_key: manifestKey })
    .where('id', '=', id)
    .execute();
}
