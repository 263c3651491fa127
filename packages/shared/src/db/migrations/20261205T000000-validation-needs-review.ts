import { type Kysely, sql } from 'kysely';

// A third way a validation ends: `needs_review`. Only rules whose outcome is "review" fired (labels that
// contradict what was measured: the segmenter's turn, the text's length and richness, its words); the
// item is published, flagged, rather than rejected.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table validations drop constraint validations_status_check`.execute(db);
  await sql`alter table validations add constraint validations_status_check
    check (status in ('approved', 'rejected', 'needs_review'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`update validations set status = 'rejected' where status = 'needs_review'`.execute(db);
  await sql`alter table validations drop constraint validations_status_check`.execute(db);
  await sql`alter table validations add constraint validations_status_check
    check (status in ('approved', 'rejected'))`.execute(db);
}
