import { type Kysely, sql } from 'kysely';

// Releases v4 (docs/decisions/0009-exporter.md): a generated item's release membership is an id in an
// array, not a row of its own.
//
// Generated items are immutable and belong to one run, so what a release needs to remember of them is
// which ids it holds. `release_sets` holds them as arrays: one row per (run, kind, model, prompt version)
// group and chunk of at most RELEASE_SET_CHUNK ids, with the release that added it and the one that
// retired it, like release_items. Writing a large run is then a handful of rows instead of a row and two
// index entries per item, with a fraction of the WAL. Segments keep their
// per-item versions in release_items: a classification can be revised in place, so they carry snapshots.
//
// The arrays are stored uncompressed (STORAGE EXTERNAL): ids are random hex, which pglz cannot shrink,
// so trying would only slow the write. `release_members` is every version of every item, one row each,
// whichever table holds it: what readers that are not on the export's hot path query.
//
// Existing generated versions move over exactly: grouped by (run, kind, model, prompt version, added,
// removed), chunked, numbered so that no two rows of a group share a chunk (the head's unique index).

const CHUNK = 100_000;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table release_sets (
      run_id text not null,
      kind text not null,
      model text not null,
      prompt_version text not null,
      chunk integer not null,
      added_seq integer not null,
      removed_seq integer,
      n integer not null check (n > 0 and n = cardinality(item_ids)),
      item_ids text[] collate "C" not null,
      constraint release_sets_pkey primary key (run_id, kind, model, prompt_version, added_seq, chunk)
    )`.execute(db);
  await sql`alter table release_sets alter column item_ids set storage external`.execute(db);
  // The newest release: one live row per group chunk. An export retires every live set of its run
  // before it writes the run's new ones, so a second live copy of a group is a bug this index stops.
  await sql`create unique index release_sets_head on release_sets (run_id, kind, model, prompt_version, chunk)
            where removed_seq is null`.execute(db);

  await sql`
    insert into release_sets (run_id, kind, model, prompt_version, chunk, added_seq, removed_seq, n, item_ids)
    select run_id, kind, model, prompt_version,
           (row_number() over (partition by run_id, kind, model, prompt_version
                               order by added_seq, removed_seq nulls last, part) - 1)::int,
           added_seq, removed_seq, count, ids
    from (
      select run_id, kind, model, prompt_version, added_seq, removed_seq, part,
             count(*)::int as count, array_agg(item_id order by item_id) as ids
      from (
        select item_id, run_id, kind, model, prompt_version, added_seq, removed_seq,
               (row_number() over (partition by run_id, kind, model, prompt_version, added_seq, removed_seq
                                   order by item_id) - 1) / ${sql.lit(CHUNK)} as part
        from release_items where kind <> 'segment'
      ) v
      group by run_id, kind, model, prompt_version, added_seq, removed_seq, part
    ) g`.execute(db);
  await sql`delete from release_items where kind <> 'segment'`.execute(db);

  await sql`
    create view release_members as
      select item_id, added_seq, removed_seq, kind, run_id, model, prompt_version from release_items
      union all
      select u.item_id, s.added_seq, s.removed_seq, s.kind, s.run_id, s.model, s.prompt_version
      from release_sets s cross join lateral unnest(s.item_ids) as u(item_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop view release_members`.execute(db);
  await sql`
    insert into release_items (item_id, added_seq, removed_seq, kind, run_id, model, prompt_version)
    select u.item_id, s.added_seq, s.removed_seq, s.kind, s.run_id, s.model, s.prompt_version
    from release_sets s cross join lateral unnest(s.item_ids) as u(item_id)`.execute(db);
  await sql`drop table release_sets`.execute(db);
}
