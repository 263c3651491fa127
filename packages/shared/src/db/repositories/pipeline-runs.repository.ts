import type { Kysely } from 'kysely';
import type { Database } from '../../contracts/rows.ts';

/** Creates the run row if it does not exist; the first stage of a run (or any stage run alone) calls this. */
export async function ensurePipelineRun(
  db: Kysely<Database>,
  runId: string,
  params: Record<string, unknown> = {},
): Promise<void> {
  await db
    .insertInto('pipeline_runs')
    .values({ id: runId, params: JSON.stringify(params) })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}
