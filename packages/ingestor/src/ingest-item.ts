import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { RawMediaManifest } from '@pronielts/shared/contracts';
import { findRunInput, recordAccepted, recordRejected } from '@pronielts/shared/db';
import type { Logger } from '@pronielts/shared/log';
import type { StageContext } from '@pronielts/shared/stage';
import { publish, readManifest } from '@pronielts/shared/storage';
import type { Env } from './env.ts';
import { ItemRejected } from './item-rejected.ts';
import { acceptDecoded, acceptProbe, extensionFor, type MediaLimits } from './media/inspect.ts';
import { type MediaTool, ProbeFailed } from './media/media-tool.ts';
import { sniff, wavDataSizes } from './media/sniff.ts';
import { type FetchOptions, fetchSource } from './sources/fetch-source.ts';
import { displayOf, parseSource } from './sources/source-uri.ts';

export type ItemOutcome =
  | { status: 'accepted' | 'skipped'; mediaId: string }
  | { status: 'rejected'; reason: string; mediaId: string | null };

export interface ItemDeps {
  ctx: StageContext<unknown, Env>;
  tool: MediaTool;
  limits: MediaLimits;
  fetch: Omit<FetchOptions, 'signal'>;
  log: Logger;
}

/** Tool messages name our scratch paths; the recorded reason should not. */
function scrubPath(message: string, file: string): string {
  return message.split(file).join('<input>').replace(/\s+/g, ' ').slice(0, 300);
}

/** Deterministic id of an input of a run: the same source string in the same run is one row. */
export function sourceHash(raw: string): string {
  return createHash('sha256').update(raw.trim()).digest('hex');
}

/**
 * One source, start to end: refuse → fetch → probe → normalise → publish (data, then manifest) → record.
 * Content problems end as a recorded rejection; dependency failures (storage, DB) propagate as stage errors.
 * Everything is idempotent: an input already accepted in this run is skipped without I/O; content already
 * published (same sha256, any run) is recorded without uploading again.
 */
export async function ingestItem(raw: string, deps: ItemDeps): Promise<ItemOutcome> {
  const { ctx, log } = deps;
  const hash = sourceHash(raw);
  const existing = await findRunInput(ctx.db, ctx.runId, hash);
  if (existing?.status === 'accepted' && existing.media_id)
    return { status: 'skipped', mediaId: existing.media_id };

  let display = displayOf(raw);
  let mediaId: string | null = null;
  const scratch: string[] = [];
  try {
    const source = parseSource(raw);
    display = source.display;
    const local = await fetchSource(source, { ...deps.fetch, signal: ctx.signal });
    if (local.owned) scratch.push(local.path);
    mediaId = local.sha256;

    const sniffed = await sniff(local.path);
    if (sniffed.kind === 'other') throw new ItemRejected('not_audio', `the content is ${sniffed.mime}`);
    const probe = await deps.tool.probe(local.path, ctx.signal).catch((err: unknown) => {
      if (err instanceof ProbeFailed) {
        // A recognised media container that ffprobe cannot read is damaged; anything else is not media.
        const reason = sniffed.kind === 'media' ? 'corrupt' : 'not_audio';
        throw new ItemRejected(reason, `ffprobe: ${scrubPath(err.message, local.path)}`);
      }
      throw err;
    });
    const accepted = acceptProbe(probe, deps.limits, await wavDataSizes(local.path));

    const prefix = local.sha256;
    const published = await readManifest(ctx.store, 'raw', prefix, RawMediaManifest).catch(() => null);
    let manifest = published;
    if (!manifest) {
      const wav = path.join(deps.fetch.downloadDir, `${local.sha256}.${process.pid}.wav`);
      scratch.push(wav);
      const decoded = await deps.tool
        .normalize(local.path, wav, {
          maxDurationS: deps.limits.maxDurationS,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        })
        .catch((err: unknown) => {
          if (ctx.signal.aborted) throw err;
          throw new ItemRejected('corrupt', `ffmpeg: ${scrubPath((err as Error).message, local.path)}`);
        });
      acceptDecoded(accepted, decoded, deps.limits);
      const ext = extensionFor(probe.formatName, accepted.audio.codec, accepted.mediaType);
      manifest = (await publish(
        ctx.store,
        'raw',
        prefix,
        'raw-media',
        [
          {
            name: `source.${ext}`,
            body: await fsp.open(local.path).then((fh) => fh.createReadStream()),
            size: local.size,
            contentType: 'application/octet-stream',
          },
          {
            name: 'audio.wav',
            body: await fsp.open(wav).then((fh) => fh.createReadStream()),
            size: (await fsp.stat(wav)).size,
            contentType: 'audio/wav',
          },
        ],
        {
          mediaId: local.sha256,
          sourceUri: display,
          mediaType: accepted.mediaType,
          container: probe.formatName,
          audioCodec: accepted.audio.codec,
          sourceDurationMs: Math.round((accepted.declaredDurationS ?? decoded.durationMs / 1000) * 1000),
          audio: { sampleRate: 16000, channels: 1, sampleFormat: 's16', durationMs: decoded.durationMs },
        },
      )) as RawMediaManifest;
      log.info(
        { media_id: local.sha256, duration_ms: decoded.durationMs, peak_db: decoded.maxVolumeDb },
        'media published',
      );
    } else {
      log.info({ media_id: local.sha256 }, 'media already published: recording only');
    }
    const sourceFile = manifest.files.find((f) => f.name.startsWith('source.'));
    const audio = manifest.files.find((f) => f.name === 'audio.wav');
    if (!sourceFile || !audio) throw new Error(`manifest of ${prefix} lacks source or audio`);
    await recordAccepted(ctx.db, {
      runId: ctx.runId,
      sourceHash: hash,
      sourceUri: display,
      media: {
        id: local.sha256,
        mediaType: manifest.meta.mediaType,
        container: manifest.meta.container,
        audioCodec: manifest.meta.audioCodec,
        durationMs: manifest.meta.audio.durationMs,
        sizeBytes: sourceFile.size,
        sourceKey: sourceFile.key,
        audioKey: audio.key,
        audioSha256: audio.sha256,
      },
    });
    return { status: 'accepted', mediaId: local.sha256 };
  } catch (err) {
    if (!(err instanceof ItemRejected)) throw err;
    log.warn({ source: display, reason: err.reason, detail: err.message }, 'source rejected');
    await recordRejected(ctx.db, {
      runId: ctx.runId,
      sourceHash: hash,
      sourceUri: display,
      mediaId,
      reason: err.reason,
      detail: err.message,
    });
    return { status: 'rejected', reason: err.reason, mediaId };
  } finally {
    await Promise.all(scratch.map((f) => fsp.rm(f, { force: true })));
  }
}
