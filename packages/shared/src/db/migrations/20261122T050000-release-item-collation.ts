import { type Kysely, sql } from 'kysely';

// Release items are keyed, sorted and written in item id order with the "C" collation (byte order).
//
// Item ids are machine-made ASCII (`gi_<hex>`, `cls_<hex>`, …), so byte order is the only order that
// means anything for them, and it is several times cheaper than a locale's: PostgreSQL compares "C" text
// with memcmp and sorts it with abbreviated keys, while a libc locale (C.UTF-8 and en_US.UTF-8 alike)
// goes through strcoll. An export sorts and indexes every item of a run by id, and the release files
// are in this order.
// Changing only the collation keeps the table (text to text is binary-coercible); the indexes are rebuilt.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table release_items alter column item_id type text collate "C"`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table release_items alter column item_id type text collate "default"`.execute(db);
}
