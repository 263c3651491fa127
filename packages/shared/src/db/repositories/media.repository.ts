import type { Kysely } from 'kysely';
import type { Database, Media } from '../../contracts/rows.ts';

/** media + run_media: content-addressed media items and every input of a run with its outcome. */

export interface AcceptedMedia {
  runId: string;
  sourceHash: string;
  sourceUri: string;
  media: {
    id: string;
    mediaType: string;
    container: string;
    audioCodec: string;
    durationMs: number;
    sizeBytes: number;
    sourceKey: string;
    audioKey: string;
    audioSha256: string;
  };
}

export interface RejectedInput {
  runId: string;
  sourceHash: string;
  sourceUri: string;
  /** Known when the bytes were read (content rejected); absent when the source itself was refused. */
  mediaId: string | null;
  reason: string;
  detail: string;
}

export async function findRunInput(db: Kysely<Database>, runId: string, sourceHash: string) {
  return db
    .selectFrom('run_media')
    .selectAll()
    .where('run_id', '=', runId)
    .where('source_hash', '=', sourceHash)
    .executeTakeFirst();
}

export async function findMedia(db: Kysely<Database>, id: string): Promise<Media | undefined> {
  return db.selectFrom('media').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Records an accepted input and its media row in one transaction (upserts: re-runs change nothing). */
export async function recordAccepted(db: Kysely<Database>, a: AcceptedMedia): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const m = a.media;
    await tx
      .insertInto('media')
      .values({
        id: m.id,
        status: 'ready',
        source_uri: a.sourceUri,
        media_type: m.mediaType,
        container: m.container,
        audio_codec: m.audioCodec,
        duration_ms: m.durationMs,
        size_bytes: m.sizeBytes,
        source_key: m.sourceKey,
        audio_key: m.audioKey,
        audio_sha256: m.audioSha256,
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          status: 'ready',
          media_type: m.mediaType,
          container: m.container,
          audio_codec: m.audioCodec,
          duration_ms: m.durationMs,
          size_bytes: m.sizeBytes,
          source_key: m.sourceKey,
          audio_key: m.audioKey,
          audio_sha256: m.audioSha256,
          reject_reason: null,
          reject_detail: null,
          updated_at: new Date(),
        }),
      )
      .execute();
    await tx
      .insertInto('run_media')
      .values({
        run_id: a.runId,
        source_hash: a.sourceHash,
        source_uri: a.sourceUri,
        media_id: m.id,
        status: 'accepted',
      })
      .onConflict((oc) =>
        oc
          .columns(['run_id', 'source_hash'])
          .doUpdateSet({ media_id: m.id, status: 'accepted', reject_reason: null, reject_detail: null }),
      )
      .execute();
  });
}

/** Records a rejected input (and, when its bytes were read, a rejected media row) in one transaction. */
export async function recordRejected(db: Kysely<Database>, r: RejectedInput): Promise<void> {
  await db.transaction().execute(async (tx) => {
    if (r.mediaId) {
      await tx
        .insertInto('media')
        .values({
          id: r.mediaId,
          status: 'rejected',
          source_uri: r.sourceUri,
          reject_reason: r.reason,
          reject_detail: r.detail,
        })
        .onConflict((oc) =>
          oc
            .column('id')
            // Never downgrade content another run stored as ready: its objects are published.
            .doUpdateSet({ reject_reason: r.reason, reject_detail: r.detail, updated_at: new Date() })
            .where('media.status', '=', 'rejected'),
        )
        .execute();
    }
    await tx
      .insertInto('run_media')
      .values({
        run_id: r.runId,
        source_hash: r.sourceHash,
        source_uri: r.sourceUri,
        media_id: r.mediaId,
        status: 'rejected',
        reject_reason: r.reason,
        reject_detail: r.detail,
      })
      .onConflict((oc) =>
        oc.columns(['run_id', 'source_hash']).doUpdateSet({
          media_id: r.mediaId,
          status: 'rejected',
          reject_reason: r.reason,
          reject_detail: r.detail,
        }),
      )
      .execute();
  });
}

/** The accepted, ready media of a run (what the transcriber works on). */
export async function listRunMedia(db: Kysely<Database>, runId: string): Promise<Media[]> {
  return db
    .selectFrom('run_media')
    .innerJoin('media', 'media.id', 'run_media.media_id')
    .selectAll('media')
    .where('run_media.run_id', '=', runId)
    .where('run_media.status', '=', 'accepted')
    .where('media.status', '=', 'ready')
    .distinctOn('media.id')
    .orderBy('media.id')
    .execute();
}
