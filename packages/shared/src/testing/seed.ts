import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../contracts/rows.ts';
import { type Db, openDb } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { recordAccepted } from '../db/repositories/media.repository.ts';
import { ensurePipelineRun } from '../db/repositories/pipeline-runs.repository.ts';
import { saveTranscript } from '../db/repositories/transcripts.repository.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { publish } from '../storage/publish.ts';

/**
 * Test fixtures that put rows into the DB exactly as the earlier stages' contracts define them, so a
 * stage can be tested without importing another stage. Not used by any stage at run time.
 */

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

export interface SeedSegment {
  text: string;
  turn?: 'question' | 'answer';
}

/** One accepted media item with one transcript of these segments; returns the segment ids in order. */
export async function seedTranscript(
  db: Kysely<Database>,
  runId: string,
  segments: SeedSegment[],
  opts: { model?: string; name?: string } = {},
): Promise<string[]> {
  const name = opts.name ?? `${runId}-${segments.map((s) => s.text).join('|')}`;
  const mediaId = sha(`media:${name}`);
  const model = opts.model ?? 'tiny-random';
  await ensurePipelineRun(db, runId);
  await recordAccepted(db, {
    runId,
    sourceHash: sha(`source:${name}`),
    sourceUri: `seed:${name.slice(0, 60)}`,
    media: {
      id: mediaId,
      mediaType: 'audio',
      container: 'wav',
      audioCodec: 'pcm_s16le',
      durationMs: segments.length * 5000,
      sizeBytes: 1000,
      sourceKey: `${mediaId}/audio.wav`,
      audioKey: `${mediaId}/audio.wav`,
      audioSha256: mediaId,
    },
  });
  const trId = `tr_${sha(`${mediaId}\0${model}`).slice(0, 32)}`;
  const ids = segments.map((_, i) => `sg_${sha(`${trId}\0${i}`).slice(0, 32)}`);
  await saveTranscript(db, {
    id: trId,
    mediaId,
    model,
    status: 'ok',
    language: 'en',
    durationMs: segments.length * 5000,
    processingMs: 10,
    objectKey: `${mediaId}/${model}/transcript.json`,
    flags: [],
    segments: segments.map((s, i) => ({
      id: ids[i] ?? '',
      idx: i,
      startMs: i * 5000,
      endMs: i * 5000 + 4000,
      text: s.text,
      turn: s.turn ?? (s.text.trim().endsWith('?') ? 'question' : 'answer'),
    })),
  });
  return ids;
}

/** A normalised WAV as the ingestor leaves it: published in pronielts-raw and recorded as ready media of the run. */
export async function seedReadyMedia(
  db: Kysely<Database>,
  store: ObjectStore,
  runId: string,
  wav: Buffer,
  sourceUri: string,
): Promise<string> {
  const id = sha(wav);
  await publish(
    store,
    'raw',
    id,
    'raw-media',
    [{ name: 'audio.wav', body: wav, contentType: 'audio/wav' }],
    {},
  );
  await ensurePipelineRun(db, runId);
  await recordAccepted(db, {
    runId,
    sourceHash: sha(sourceUri),
    sourceUri,
    media: {
      id,
      mediaType: 'audio',
      container: 'wav',
      audioCodec: 'pcm_s16le',
      durationMs: Math.round(((wav.length - 44) / 32000) * 1000),
      sizeBytes: wav.length,
      sourceKey: `${id}/audio.wav`,
      audioKey: `${id}/audio.wav`,
      audioSha256: id,
    },
  });
  return id;
}

/** A connection to a PostgreSQL test database with every migration applied. */
export async function openMigratedPostgres(url: string, poolMax = 2): Promise<Db> {
  const db = await openDb({ kind: 'postgres', url, poolMax });
  await migrateToLatest(db);
  return db;
}
