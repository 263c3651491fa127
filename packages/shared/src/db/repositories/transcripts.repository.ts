import type { Kysely } from 'kysely';
import type { Database } from '../../contracts/rows.ts';

export interface TranscriptRecord {
  id: string;
  mediaId: string;
  model: string;
  status: 'ok' | 'suspect';
  language: string;
  durationMs: number;
  processingMs: number;
  objectKey: string;
  flags: string[];
  segments: Array<{ id: string; idx: number; startMs: number; endMs: number; text: string; turn: string }>;
}

export async function findTranscript(db: Kysely<Database>, mediaId: string, model: string) {
  return db
    .selectFrom('transcripts')
    .selectAll()
    .where('media_id', '=', mediaId)
    .where('model', '=', model)
    .executeTakeFirst();
}

/** A transcript and its segments, in one transaction; segments are replaced as a whole. */
export async function saveTranscript(db: Kysely<Database>, t: TranscriptRecord): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const row = {
      media_id: t.mediaId,
      model: t.model,
      status: t.status,
      language: t.language,
      duration_ms: t.durationMs,
      processing_ms: t.processingMs,
      segment_count: t.segments.length,
      object_key: t.objectKey,
      flags: JSON.stringify(t.flags),
      reject_reason: null,
    };
    await tx
      .insertInto('transcripts')
      .values({ id: t.id, ...row })
      .onConflict((oc) => oc.column('id').doUpdateSet(row))
      .execute();
    await tx.deleteFrom('segments').where('transcript_id', '=', t.id).execute();
    if (t.segments.length > 0) {
      await tx
        .insertInto('segments')
        .values(
          t.segments.map((s) => ({
            id: s.id,
            transcript_id: t.id,
            idx: s.idx,
            start_ms: s.startMs,
            end_ms: s.endMs,
            text: s.text,
            turn: s.turn,
          })),
        )
        .execute();
    }
  });
}

/** A media item whisper gave no usable output for: a transcript row with the reason, no segments. */
export async function recordTranscriptRejected(
  db: Kysely<Database>,
  r: { id: string; mediaId: string; model: string; reason: string; processingMs: number | null },
): Promise<void> {
  const row = {
    media_id: r.mediaId,
    model: r.model,
    status: 'rejected' as const,
    reject_reason: r.reason,
    processing_ms: r.processingMs,
    segment_count: 0,
  };
  await db
    .insertInto('transcripts')
    .values({ id: r.id, ...row })
    .onConflict((oc) => oc.column('id').doUpdateSet(row))
    .execute();
}

export async function listSegments(db: Kysely<Database>, transcriptId: string) {
  return db
    .selectFrom('segments')
    .selectAll()
    .where('transcript_id', '=', transcriptId)
    .orderBy('idx')
    .execute();
}
