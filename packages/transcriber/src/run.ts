import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MediaId, type TranscriptDocument } from '@pronielts/shared/contracts';
import {
  findMedia,
  findTranscript,
  listRunMedia,
  recordTranscriptRejected,
  saveTranscript,
} from '@pronielts/shared/db';
import { trackProgress } from '@pronielts/shared/log';
import { type StageContext, StageError, type StageResult } from '@pronielts/shared/stage';
import { publish } from '@pronielts/shared/storage';
import type { Env } from './env.ts';
import { energyProfile } from './quality/energy.ts';
import { DEFAULT_HALLUCINATION_OPTIONS, judgeTranscript } from './quality/hallucination.ts';
import { DEFAULT_SEGMENT_OPTIONS, segmentTranscript } from './segment/segment.ts';
import { ensureModel, resolveWhisperCli } from './whisper/model.ts';
import { runWhisperCli } from './whisper/whisper-cli.ts';
import { detectedLanguage, toSegments, WhisperOutput } from './whisper/whisper-json.ts';

export interface TranscribeInputShape {
  mediaIds?: string[] | undefined;
}

const hashId = (kind: string, ...parts: string[]) =>
  `${kind}_${createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32)}`;

export const transcriptId = (mediaId: string, model: string) => hashId('tr', mediaId, model);
export const segmentId = (trId: string, idx: number) => hashId('sg', trId, String(idx));

interface Item {
  mediaId: string;
  audioKey: string;
  durationMs: number;
  wav: string;
}

type Outcome =
  | { kind: 'ok' | 'suspect'; segments: number; trId: string }
  | { kind: 'rejected'; reason: string };

/**
 * Transcribes the run's ready media that has no transcript for this model yet, one file at a time: its
 * WAV (already 16 kHz mono from the ingestor, so never re-encoded) goes to a whisper-cli process of its
 * own, and the output is checked, segmented and persisted as soon as it is complete (objects first, then
 * one DB transaction), so a killed or stopped run loses at most the file in flight.
 */
export async function transcribe(ctx: StageContext<TranscribeInputShape, Env>): Promise<StageResult> {
  const { env, db, log } = ctx;
  const model = env.WHISPER_MODEL;

  // --- what to do ---------------------------------------------------------------------------------
  const ids = ctx.input.mediaIds ?? (await listRunMedia(db, ctx.runId)).map((m) => m.id);
  const unique = [...new Set(ids)];
  // A folder of this attempt's own: an orphaned whisper-cli of a killed earlier attempt cannot collide.
  const workDir = path.join(env.TRANSCRIBE_WORK_DIR, `attempt-${ctx.attempt}-${process.pid}`);
  const rejections: Record<string, number> = {};
  const reject = (reason: string) => {
    rejections[reason] = (rejections[reason] ?? 0) + 1;
  };
  let skipped = 0;
  const todo: Item[] = [];
  const transcriptIds: string[] = [];
  let segmentCount = 0;
  for (const id of unique) {
    const media = await findMedia(db, id);
    if (media?.status !== 'ready' || !media.audio_key) {
      log.warn({ media_id: id }, 'not a ready media item: skipped');
      reject('media_not_ready');
      continue;
    }
    const existing = await findTranscript(db, id, model);
    if (existing) {
      skipped++;
      if (existing.status !== 'rejected') {
        transcriptIds.push(existing.id);
        segmentCount += existing.segment_count;
      }
      continue;
    }
    todo.push({
      mediaId: id,
      audioKey: media.audio_key,
      durationMs: media.duration_ms ?? 0,
      wav: path.join(workDir, `${MediaId.parse(id)}.wav`),
    });
  }
  const progress = trackProgress(log, { planned: todo.length, skipped });
  const result = (out: number, rejected: number): StageResult => ({
    counts: { in: unique.length, out, rejected, skipped },
    rejections,
    extra: { transcriptIds, segmentCount, model },
  });
  if (todo.length === 0)
    return result(
      0,
      Object.values(rejections).reduce((a, b) => a + b, 0),
    );

  // --- preconditions: binary and model, before any work ---------------------------------------------
  const cli = resolveWhisperCli(env.WHISPER_CLI);
  const modelPath = await ensureModel({
    dir: env.WHISPER_MODEL_DIR,
    model,
    allowDownload: env.WHISPER_ALLOW_DOWNLOAD,
    downloadBase: env.WHISPER_DOWNLOAD_BASE,
    log,
    signal: ctx.signal,
  });

  // --- transcribe one file at a time, persisting each output as it completes ----------------------
  // One whisper-cli process per file: whisper.cpp keeps decoder state from one file to the next in a
  // process (with beam search or temperature fallback), so a file's transcript would depend on the files
  // before it. A process of its own makes it a function of its audio, the model and the settings only.
  await fsp.mkdir(workDir, { recursive: true });
  const outcomes = new Map<string, Outcome>();
  try {
    for (const item of todo) {
      if (ctx.signal.aborted) break;
      await pipeline(await ctx.store.get('raw', item.audioKey), fs.createWriteStream(item.wav));
      const persist = async (jsonPath: string, elapsedMs: number) => {
        outcomes.set(item.mediaId, await persistItem(ctx, item, jsonPath, elapsedMs));
        await fsp.rm(jsonPath, { force: true });
      };
      // A crash gets one more try; a second crash, or an exit without output, rejects the file.
      for (let attempt = 1; !outcomes.has(item.mediaId) && !ctx.signal.aborted; attempt++) {
        const res = await runWhisperCli([item.wav], {
          cli,
          model: modelPath,
          threads: env.WHISPER_THREADS,
          language: env.WHISPER_LANGUAGE,
          beamSize: env.WHISPER_BEAM_SIZE,
          noFallback: env.WHISPER_NO_FALLBACK,
          signal: ctx.signal,
          onOutput: persist,
        });
        if (ctx.signal.aborted) break;
        if (res.exitCode === 3) {
          throw new StageError(
            'config_invalid',
            `whisper-cli could not load the model ${modelPath}: ${res.stderrTail.slice(-3).join(' ')}`,
          );
        }
        log.info(
          { media_id: item.mediaId, exit_code: res.exitCode, signal: res.signal, wall_ms: res.wallMs },
          'whisper-cli finished',
        );
        if (outcomes.has(item.mediaId) || (res.signal && attempt === 1)) continue;
        // Exited without output (whisper.cpp exits 0 even when a file fails), or crashed twice.
        const reason = res.signal ? 'whisper_crashed' : 'whisper_no_output';
        await recordTranscriptRejected(db, {
          id: transcriptId(item.mediaId, model),
          mediaId: item.mediaId,
          model,
          reason,
          processingMs: null,
        });
        outcomes.set(item.mediaId, { kind: 'rejected', reason });
        log.warn({ media_id: item.mediaId, stderr: res.stderrTail.slice(-3) }, 'whisper produced no output');
      }
      await fsp.rm(item.wav, { force: true });
      const o = outcomes.get(item.mediaId);
      if (o)
        progress.done(o.kind === 'rejected' ? `rejected: ${o.reason}` : `${o.kind} · ${o.segments} segments`);
    }

    let out = 0;
    let rejected = 0;
    for (const o of outcomes.values()) {
      if (o.kind === 'rejected') {
        rejected++;
        reject(o.reason);
      } else {
        out++;
        transcriptIds.push(o.trId);
        segmentCount += o.segments;
      }
    }
    rejected += rejections.media_not_ready ?? 0;
    return result(out, rejected);
  } finally {
    await fsp.rm(workDir, { recursive: true, force: true });
  }
}

async function persistItem(
  ctx: StageContext<TranscribeInputShape, Env>,
  item: Item,
  jsonPath: string,
  processingMs: number,
): Promise<Outcome> {
  const { env, db, log } = ctx;
  const model = env.WHISPER_MODEL;
  const trId = transcriptId(item.mediaId, model);
  const rejectWith = async (reason: string, detail: string): Promise<Outcome> => {
    log.warn({ media_id: item.mediaId, reason, detail }, 'transcript rejected');
    await recordTranscriptRejected(db, { id: trId, mediaId: item.mediaId, model, reason, processingMs });
    return { kind: 'rejected', reason };
  };

  let parsed: WhisperOutput;
  try {
    const raw = await fsp.readFile(jsonPath, 'utf8');
    if (raw.trim() === '') return rejectWith('whisper_no_output', 'empty output file');
    parsed = WhisperOutput.parse(JSON.parse(raw));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return rejectWith('whisper_no_output', 'no output file');
    return rejectWith('whisper_output_invalid', (err as Error).message.slice(0, 300));
  }
  const segments = toSegments(parsed, item.durationMs);
  if (segments.length === 0) return rejectWith('whisper_empty_transcript', 'whisper returned no text');

  const energy = await energyProfile(item.wav).catch(() => null);
  const verdict = judgeTranscript(segments, energy, {
    ...DEFAULT_HALLUCINATION_OPTIONS,
    silenceDb: env.HALLUCINATION_SILENCE_DB,
  });
  const suspectIdx = new Set(verdict.suspectSegments);
  // Utterances are built from the segments whisper is not suspected of inventing.
  const utterances = segmentTranscript(
    segments.filter((_, i) => !suspectIdx.has(i)),
    { ...DEFAULT_SEGMENT_OPTIONS, pauseMs: env.SEGMENT_PAUSE_MS, maxMs: env.SEGMENT_MAX_MS },
  );
  const language = detectedLanguage(
    parsed,
    env.WHISPER_LANGUAGE === 'auto' ? 'unknown' : env.WHISPER_LANGUAGE,
  );
  const flags = [...verdict.flags, ...(verdict.suspect ? ['hallucination_suspected'] : [])];
  const doc: TranscriptDocument = {
    mediaId: MediaId.parse(item.mediaId),
    model,
    language,
    durationMs: item.durationMs,
    processingMs,
    segments: segments.map((s, i) => ({ ...s, ...(suspectIdx.has(i) ? { suspect: true } : {}) })),
    flags,
  };
  const prefix = `${item.mediaId}/${model}`;
  const manifest = await publish(
    ctx.store,
    'transcriptions',
    prefix,
    'transcript',
    [
      { name: 'transcript.json', body: JSON.stringify(doc), contentType: 'application/json' },
      { name: 'segments.json', body: JSON.stringify(utterances), contentType: 'application/json' },
    ],
    { mediaId: item.mediaId, model, language, segmentCount: utterances.length },
  );
  const status = verdict.suspect ? 'suspect' : 'ok';
  await saveTranscript(db, {
    id: trId,
    mediaId: item.mediaId,
    model,
    status,
    language,
    durationMs: item.durationMs,
    processingMs,
    objectKey: manifest.files[0]?.key ?? `${prefix}/transcript.json`,
    flags,
    segments: utterances.map((u) => ({ ...u, id: segmentId(trId, u.idx) })),
  });
  log.info(
    {
      media_id: item.mediaId,
      segments: utterances.length,
      language,
      status,
      flags,
      processing_ms: processingMs,
    },
    'transcript saved',
  );
  return { kind: status, segments: utterances.length, trId };
}
