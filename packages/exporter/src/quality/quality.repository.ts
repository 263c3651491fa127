import type { Db } from '@pronielts/shared/db';
import { sql } from 'kysely';

/** Stage attempts marked abandoned since `since`. */
export async function countAbandonedAttempts(db: Db, since: Date): Promise<number> {
  const row = await db
    .selectFrom('stage_runs')
    .where('status', '=', 'abandoned')
    .where('finished_at', '>=', since)
    .select(sql<string>`count(*)`.as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Ready media created before `before` that has no transcript at all (any model, any status). */
export async function findStuckMedia(db: Db, before: Date) {
  const row = await db
    .selectFrom('media as m')
    .where('m.status', '=', 'ready')
    .where('m.created_at', '<', before)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('transcripts as t').select('t.id').whereRef('t.media_id', '=', 'm.id'))),
    )
    .select([
      sql<string>`count(*)`.as('count'),
      sql<Date | string | null>`min(m.created_at)`.as('oldest'),
      sql<string[] | null>`(array_agg(m.id order by m.created_at))[1:3]`.as('sample'),
    ])
    .executeTakeFirstOrThrow();
  return {
    count: Number(row.count),
    oldest: row.oldest === null ? null : new Date(row.oldest),
    sample: row.sample ?? [],
  };
}

/** The newest complete release, and when the first media was ingested (freshness needs both). */
export async function findLatestRelease(db: Db) {
  const release = await db
    .selectFrom('releases')
    .where('status', '=', 'complete')
    .where('completed_at', 'is not', null)
    .select(['id', 'completed_at'])
    .orderBy('completed_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  const first = await db
    .selectFrom('media')
    .select(sql<Date | string | null>`min(created_at)`.as('first'))
    .executeTakeFirstOrThrow();
  return {
    release: release
      ? { id: release.id, completedAt: new Date(release.completed_at as Date | string) }
      : null,
    firstMediaAt: first.first === null ? null : new Date(first.first),
  };
}

/** The decisions whose rejection rate the anomaly check watches: table, time column, "rejected" test. */
export const REJECTION_SOURCES = {
  ingest: { table: 'run_media', at: 'created_at', rejected: sql`status = 'rejected'` },
  transcribe: { table: 'transcripts', at: 'created_at', rejected: sql`status = 'rejected'` },
  classify: { table: 'classifications', at: 'created_at', rejected: sql`status = 'rejected'` },
  validate: { table: 'validations', at: 'validated_at', rejected: sql`status = 'rejected'` },
} as const;
export type RejectionSource = keyof typeof REJECTION_SOURCES;

export interface RateCounts {
  total: number;
  rejected: number;
}

/** Decisions and rejections of one source in [windowStart, now) and in [baselineStart, windowStart). */
export async function rejectionCounts(
  db: Db,
  source: RejectionSource,
  windowStart: Date,
  baselineStart: Date,
): Promise<{ window: RateCounts; baseline: RateCounts }> {
  const s = REJECTION_SOURCES[source];
  const at = sql.ref(s.at);
  const { rows } = await sql<{ wt: string; wr: string; bt: string; br: string }>`
    select count(*) filter (where ${at} >= ${windowStart}) as wt,
           count(*) filter (where ${at} >= ${windowStart} and ${s.rejected}) as wr,
           count(*) filter (where ${at} < ${windowStart}) as bt,
           count(*) filter (where ${at} < ${windowStart} and ${s.rejected}) as br
      from ${sql.table(s.table)}
     where ${at} >= ${baselineStart}`.execute(db);
  const r = rows[0] ?? { wt: '0', wr: '0', bt: '0', br: '0' };
  return {
    window: { total: Number(r.wt), rejected: Number(r.wr) },
    baseline: { total: Number(r.bt), rejected: Number(r.br) },
  };
}
