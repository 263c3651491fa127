import fsp from 'node:fs/promises';
import { trackProgress } from '@pronielts/shared/log';
import { forEachConcurrent, type StageContext, type StageResult } from '@pronielts/shared/stage';
import type { Env } from './env.ts';
import { type ItemOutcome, ingestItem } from './ingest-item.ts';
import { fluentFfmpegTool } from './media/fluent-ffmpeg-tool.ts';
import { DEFAULT_LIMITS, type MediaLimits } from './media/inspect.ts';
import type { MediaTool } from './media/media-tool.ts';
import { parseCidrs } from './sources/address-policy.ts';
import type { LookupFn } from './sources/http-download.ts';

export interface IngestInputShape {
  sources: string[];
}

export interface IngestOptions {
  tool?: MediaTool;
  /** Injected DNS resolution (tests): the address policy still applies to what it returns. */
  lookup?: LookupFn;
}

export function limitsFrom(env: Env): MediaLimits {
  return {
    ...DEFAULT_LIMITS,
    minDurationS: env.INGEST_MIN_DURATION_S,
    maxDurationS: env.INGEST_MAX_DURATION_S,
    minSampleRate: env.INGEST_MIN_SAMPLE_RATE,
    silenceMaxDb: env.INGEST_SILENCE_MAX_DB,
  };
}

/** Runs every source of the run through `ingestItem`, INGEST_CONCURRENCY at a time, stopping on SIGTERM. */
export async function ingest(
  ctx: StageContext<IngestInputShape, Env>,
  opts: IngestOptions = {},
): Promise<StageResult> {
  const env = ctx.env;
  const localRoots = await Promise.all(
    env.INGEST_LOCAL_ROOTS.split(':')
      .filter(Boolean)
      .map((r) => fsp.realpath(r).catch(() => null)),
  );
  const deps = {
    ctx: ctx as StageContext<unknown, Env>,
    tool:
      opts.tool ??
      fluentFfmpegTool({
        ...(env.FFMPEG_PATH ? { ffmpegPath: env.FFMPEG_PATH } : {}),
        ...(env.FFPROBE_PATH ? { ffprobePath: env.FFPROBE_PATH } : {}),
      }),
    limits: limitsFrom(env),
    log: ctx.log,
    fetch: {
      downloadDir: env.INGEST_DOWNLOAD_DIR,
      limits: {
        maxBytes: env.INGEST_MAX_BYTES,
        connectTimeoutMs: env.INGEST_CONNECT_TIMEOUT_MS,
        readTimeoutMs: env.INGEST_READ_TIMEOUT_MS,
        maxRedirects: env.INGEST_MAX_REDIRECTS,
      },
      policy: {
        allowPrivate: env.INGEST_ALLOW_PRIVATE_ADDRESSES,
        allowedCidrs: parseCidrs(env.INGEST_ALLOWED_CIDRS),
      },
      localRoots: localRoots.filter((r): r is string => r !== null),
      store: ctx.store,
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
    },
  };

  // Unique inputs in order: the same source listed twice is one item.
  const sources = [...new Set(ctx.input.sources.map((s) => s.trim()))];
  const outcomes: ItemOutcome[] = new Array(sources.length);
  // Sources ingested before are found out one by one (by content), so they count as done here.
  const progress = trackProgress(ctx.log, { planned: sources.length });
  // A dependency failure stops new items and lets the one in flight settle before it is rethrown.
  await forEachConcurrent(sources, env.INGEST_CONCURRENCY, ctx.signal, async (raw, i) => {
    const o = await ingestItem(raw, deps);
    outcomes[i] = o;
    progress.done(`source ${i + 1}: ${o.status}${o.status === 'rejected' ? ` (${o.reason})` : ''}`);
  });

  const done = outcomes.filter(Boolean);
  const rejections: Record<string, number> = {};
  for (const o of done) if (o.status === 'rejected') rejections[o.reason] = (rejections[o.reason] ?? 0) + 1;
  const mediaIds = [...new Set(done.flatMap((o) => (o.status === 'rejected' ? [] : [o.mediaId])))];
  return {
    counts: {
      in: sources.length,
      out: done.filter((o) => o.status === 'accepted').length,
      rejected: done.filter((o) => o.status === 'rejected').length,
      skipped: done.filter((o) => o.status === 'skipped').length,
    },
    rejections,
    extra: { mediaIds },
  };
}
