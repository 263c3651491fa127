import { type Kysely, sql } from 'kysely';

// Two more ways an attempt ends: `abandoned` (its process ended without recording how: a later attempt
// of the same stage and run found it so) and `stopped` (stopped by a signal, and its work did not wind
// down within the grace period).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table stage_runs drop constraint stage_runs_status_check`.execute(db);
  await sql`alter table stage_runs add constraint stage_runs_status_check
    check (status in ('running', 'succeeded', 'failed', 'interrupted', 'stopped', 'abandoned'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`update stage_runs set status = 'failed' where status in ('stopped', 'abandoned')`.execute(db);
  await sql`alter table stage_runs drop constraint stage_runs_status_check`.execute(db);
  await sql`alter table stage_runs add constraint stage_runs_status_check
    check (status in ('running', 'succeeded', 'failed', 'interrupted'))`.execute(db);
}
