import { type Kysely, sql } from 'kysely';
import type { Database, GeneratedKind } from '../../contracts/rows.ts';

export interface GeneratedItemRecord {
  id: string;
  kind: GeneratedKind;
  sourceSegmentId: string | null;
  topic: string | null;
  targetBand: number | null;
  payload: Record<string, unknown>;
  suspicious: boolean;
}

/** Task keys of the run that already ended, with items or with a recorded rejection. */
export async function finishedTaskKeys(db: Kysely<Database>, runId: string): Promise<Set<string>> {
  const r = await sql<{ task_key: string }>`
    select task_key from generated_items where run_id = ${runId} and task_key is not null
    union
    select task_key from llm_rejections where run_id = ${runId}`.execute(db);
  return new Set(r.rows.map((x) => x.task_key));
}

/** All items of one generation task, in one transaction; ids are deterministic, so a retry inserts nothing twice. */
export async function saveGeneratedItems(
  db: Kysely<Database>,
  t: { runId: string; taskKey: string; model: string; promptVersion: string; items: GeneratedItemRecord[] },
): Promise<void> {
  if (t.items.length === 0) return;
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('generated_items')
      .values(
        t.items.map((i) => ({
          id: i.id,
          run_id: t.runId,
          kind: i.kind,
          source_segment_id: i.sourceSegmentId,
          topic: i.topic,
          target_band: i.targetBand,
          payload: JSON.stringify(i.payload),
          model: t.model,
          prompt_version: t.promptVersion,
          task_key: t.taskKey,
          suspicious: i.suspicious,
        })),
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  });
}

export async function recordLlmRejection(
  db: Kysely<Database>,
  r: {
    taskKey: string;
    runId: string;
    task: string;
    subject: string;
    model: string;
    promptVersion: string;
    reason: string;
    detail: string;
    raw: string;
  },
): Promise<void> {
  const row = {
    run_id: r.runId,
    task: r.task,
    subject: r.subject,
    model: r.model,
    prompt_version: r.promptVersion,
    reason: r.reason,
    detail: r.detail.slice(0, 1000),
    raw_output: r.raw.slice(0, 20_000),
  };
  await db
    .insertInto('llm_rejections')
    .values({ task_key: r.taskKey, ...row })
    .onConflict((oc) => oc.column('task_key').doUpdateSet(row))
    .execute();
}
