import type { Database } from '@pronielts/shared/db';
import { type Kysely, sql } from 'kysely';

/** A row to validate: a generated item, or a classified segment (kind 'segment'). */
export interface ItemToValidate {
  id: string;
  item_type: 'generated' | 'classification';
  kind: string;
  payload: Record<string, unknown>;
  target_band: string | null;
  /** For model answers: the other answers generated for the same source segment in the run. */
  siblings: Array<{ band: string; text: string }> | null;
}

/**
 * The next page (by id) of the run's items without a validation for this rules version: generated items
 * and the newest classification of each segment (one the classifier refused too: its segment is real
 * speech and is published without labels, flagged; `classify_rejected` holds the refusal).
 */
export async function listItemsToValidate(
  db: Kysely<Database>,
  runId: string,
  rulesVersion: string,
  afterId: string,
  limit: number,
): Promise<ItemToValidate[]> {
  const r = await sql<ItemToValidate>`
    select * from (
      select g.id, 'generated' as item_type, g.kind, g.payload, g.target_band::text as target_band,
             case when g.kind = 'model_answer' then (
               select coalesce(jsonb_agg(jsonb_build_object('band', o.target_band::text, 'text', o.payload->>'text')), '[]')
               from generated_items o
               where o.run_id = g.run_id and o.kind = 'model_answer' and o.id <> g.id
                 and o.source_segment_id = g.source_segment_id
             ) end as siblings
      from generated_items g
      where g.run_id = ${runId}
      union all
      select c.id, 'classification' as item_type, 'segment' as kind,
             jsonb_build_object('text', s.text, 'part', c.part, 'kind', c.kind, 'topic', c.topic,
                                'band', c.band, 'cefr', c.cefr, 'pronunciation_focus', c.pronunciation_focus,
                                'turn', s.turn, 'classify_rejected', c.reject_reason) as payload,
             null as target_band, null as siblings
      from (
        select distinct on (c.segment_id) c.* from classifications c
        join segments s on s.id = c.segment_id
        join transcripts t on t.id = s.transcript_id and t.status <> 'rejected'
        where t.media_id in (select media_id from run_media where run_id = ${runId} and status = 'accepted')
        order by c.segment_id, c.created_at desc
      ) c
      join segments s on s.id = c.segment_id
    ) items
    where items.id > ${afterId}
      and not exists (select 1 from validations v where v.item_id = items.id and v.rules_version = ${rulesVersion})
    order by items.id
    limit ${limit}`.execute(db);
  return r.rows;
}

/** The ids of the runs' validated items: their generated items and their segments' classifications. */
const RUN_ITEM_IDS = (runIds: string[]) => sql`
  select id from generated_items where run_id in (${sql.join(runIds)})
  union all
  select c.id from classifications c join segments s on s.id = c.segment_id
  join transcripts t on t.id = s.transcript_id
  where t.media_id in (select media_id from run_media where run_id in (${sql.join(runIds)}))`;

export async function countRunValidations(db: Kysely<Database>, runId: string, rulesVersion: string) {
  const r = await sql<{ status: string; n: string }>`
    select v.status, count(*)::text as n from validations v
    where v.rules_version = ${rulesVersion} and v.item_id in (${RUN_ITEM_IDS([runId])})
    group by v.status`.execute(db);
  return Object.fromEntries(r.rows.map((x) => [x.status, Number(x.n)])) as Record<string, number>;
}

export interface ValidationCounts {
  /** Items by status: approved, needs_review, rejected. */
  byStatus: Record<string, number>;
  /** Per status, the items each rule fired on. */
  byRule: Record<string, Record<string, number>>;
}

/** How the runs' items were judged under a rules version: by status, and per status by rule. */
export async function validationCounts(
  db: Kysely<Database>,
  runIds: string[],
  rulesVersion: string,
): Promise<ValidationCounts> {
  const out: ValidationCounts = { byStatus: {}, byRule: {} };
  if (runIds.length === 0) return out;
  const r = await sql<{ status: string; rule: string | null; total: boolean; n: string }>`
    select v.status, r.reason->>'rule' as rule, grouping(r.reason->>'rule') = 1 as total,
           count(distinct v.item_id)::text as n
    from validations v
    left join lateral jsonb_array_elements(v.reasons) as r(reason) on true
    where v.rules_version = ${rulesVersion} and v.item_id in (${RUN_ITEM_IDS(runIds)})
    group by grouping sets ((v.status), (v.status, r.reason->>'rule'))`.execute(db);
  for (const row of r.rows) {
    if (row.total) {
      out.byStatus[row.status] = Number(row.n);
    } else if (row.rule !== null) {
      const rules = out.byRule[row.status] ?? {};
      rules[row.rule] = Number(row.n);
      out.byRule[row.status] = rules;
    }
  }
  return out;
}

export interface Fingerprint {
  itemId: string;
  kind: string;
  exactHash: string;
  minhash: number[];
  shingles: string[];
  bands: string[];
}

/** Approved items whose normalised text equals one of these hashes (same kind). */
export async function findExact(db: Kysely<Database>, kind: string, hashes: string[]) {
  if (hashes.length === 0) return [];
  return db
    .selectFrom('content_fingerprints')
    .select(['item_id', 'exact_hash'])
    .where('kind', '=', kind)
    .where('exact_hash', 'in', hashes)
    .execute();
}

/** Approved items sharing at least one LSH band with these (same kind), with their signatures. */
export async function findBandCandidates(
  db: Kysely<Database>,
  kind: string,
  bands: Array<{ band: number; hash: string }>,
) {
  if (bands.length === 0) return [];
  const r = await sql<{ item_id: string; shingles: string[] }>`
    select distinct f.item_id, f.shingles from fingerprint_bands b
    join content_fingerprints f on f.item_id = b.item_id
    where b.kind = ${kind}
      and (b.band, b.hash) in (${sql.join(bands.map((x) => sql`(${x.band}, ${x.hash})`))})`.execute(db);
  return r.rows;
}

/** Validations of a batch and fingerprints of its approved items, in one transaction. */
export async function saveValidations(
  db: Kysely<Database>,
  rulesVersion: string,
  results: Array<{
    itemId: string;
    itemType: 'generated' | 'classification';
    status: 'approved' | 'rejected' | 'needs_review';
    reasons: Array<{ rule: string; detail: string }>;
  }>,
  fingerprints: Fingerprint[],
): Promise<void> {
  if (results.length === 0) return;
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('validations')
      .values(
        results.map((r) => ({
          item_id: r.itemId,
          item_type: r.itemType,
          rules_version: rulesVersion,
          status: r.status,
          reasons: JSON.stringify(r.reasons),
        })),
      )
      .onConflict((oc) =>
        oc.columns(['item_id', 'rules_version']).doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          reasons: eb.ref('excluded.reasons'),
        })),
      )
      .execute();
    if (fingerprints.length === 0) return;
    await tx
      .insertInto('content_fingerprints')
      .values(
        fingerprints.map((f) => ({
          item_id: f.itemId,
          kind: f.kind,
          exact_hash: f.exactHash,
          minhash: JSON.stringify(f.minhash),
          shingles: JSON.stringify(f.shingles),
        })),
      )
      .onConflict((oc) => oc.column('item_id').doNothing())
      .execute();
    await tx
      .insertInto('fingerprint_bands')
      .values(
        fingerprints.flatMap((f) =>
          f.bands.map((hash, band) => ({ kind: f.kind, band, hash, item_id: f.itemId })),
        ),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  });
}
