import fsp from 'node:fs/promises';
import ffmpeg from 'fluent-ffmpeg';
import {
  DecodeFailed,
  type MediaTool,
  type NormalizeResult,
  ProbeFailed,
  type ProbeResult,
  WAV_BYTES_PER_SECOND,
  WAV_HEADER_BYTES,
} from './media-tool.ts';

/** The ffmpeg arguments of the normalisation, shared with the benchmark's bare-ffmpeg baseline. */
export const NORMALIZE_OUTPUT_ARGS = [
  '-map',
  '0:a:0',
  '-vn',
  '-sn',
  '-dn',
  '-ac',
  '1',
  '-ar',
  '16000',
  '-c:a',
  'pcm_s16le',
  '-map_metadata',
  '-1',
  '-af',
  'volumedetect',
  '-f',
  'wav',
];

const PROBE_TIMEOUT_MS = 60_000;

function num(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : null;
}

/**
 * ffmpeg's message prefixes name the component and its address in memory (`[mp3 @ 0x55b7c02fd240]`),
 * which differs on every run: drop the address, so the same file always gets the same recorded reason.
 */
export function stableToolMessage(text: string): string {
  return text.replace(/ @ 0x[0-9a-f]+\]/gi, ']');
}

/** Whether ffprobe's stderr says no demuxer recognised the input (as opposed to a damaged known format). */
function unrecognised(stderr: string): boolean {
  return /Invalid data found when processing input|could not find codec parameters|Unknown input format/i.test(
    stderr,
  );
}

export function fluentFfmpegTool(opts: { ffmpegPath?: string; ffprobePath?: string } = {}): MediaTool {
  const cmd = (input?: string) => {
    const c = input === undefined ? ffmpeg() : ffmpeg(input);
    if (opts.ffmpegPath) c.setFfmpegPath(opts.ffmpegPath);
    if (opts.ffprobePath) c.setFfprobePath(opts.ffprobePath);
    return c;
  };

  return {
    probe(file, signal) {
      return new Promise<ProbeResult>((resolve, reject) => {
        const timer = setTimeout(() => reject(new ProbeFailed('ffprobe timed out', false)), PROBE_TIMEOUT_MS);
        const onAbort = () => reject(signal?.reason ?? new Error('aborted'));
        signal?.addEventListener('abort', onAbort, { once: true });
        // Bounded analysis: a hostile file cannot make ffprobe read gigabytes to guess its format.
        cmd(file).ffprobe(['-v', 'error', '-probesize', '20M', '-analyzeduration', '20M'], (err, data) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (err) {
            const message = String((err as Error).message);
            const stderr = message.split('\n').slice(1).join(' ').trim();
            return reject(new ProbeFailed(stableToolMessage(stderr || message), unrecognised(message)));
          }
          resolve({
            formatName: String(data.format?.format_name ?? 'unknown'),
            durationS: num(data.format?.duration),
            streams: (data.streams ?? []).map((s) => ({
              type: String(s.codec_type ?? 'unknown'),
              codec: String(s.codec_name ?? 'unknown'),
              sampleRate: num(s.sample_rate),
              channels: num(s.channels),
              durationS: num(s.duration),
            })),
          });
        });
      });
    },

    normalize(input, output, { maxDurationS, signal }) {
      return new Promise<NormalizeResult>((resolve, reject) => {
        let decodeErrors = 0;
        let maxVolumeDb: number | null = null;
        let meanVolumeDb: number | null = null;
        const c = cmd(input)
          .inputOptions(['-nostdin', '-hide_banner'])
          .outputOptions([...NORMALIZE_OUTPUT_ARGS, '-t', String(maxDurationS)])
          .on('stderr', (line: string) => {
            if (/Error while decoding|Invalid data found|error decoding|corrupt/i.test(line)) decodeErrors++;
            const max = /max_volume:\s*(-?[\d.]+|-inf) dB/.exec(line);
            if (max?.[1]) maxVolumeDb = max[1] === '-inf' ? null : Number(max[1]);
            const mean = /mean_volume:\s*(-?[\d.]+|-inf) dB/.exec(line);
            if (mean?.[1]) meanVolumeDb = mean[1] === '-inf' ? null : Number(mean[1]);
          })
          .on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
            signal?.removeEventListener('abort', onAbort);
            if (signal?.aborted) return reject(signal.reason);
            const last = String(stderr ?? '')
              .trim()
              .split('\n')
              .filter(Boolean)
              .slice(-2)
              .join(' ');
            reject(new DecodeFailed(stableToolMessage(last || err.message)));
          })
          .on('end', async () => {
            signal?.removeEventListener('abort', onAbort);
            try {
              const { size } = await fsp.stat(output);
              const durationMs = Math.floor(
                (Math.max(0, size - WAV_HEADER_BYTES) / WAV_BYTES_PER_SECOND) * 1000,
              );
              resolve({ durationMs, maxVolumeDb, meanVolumeDb, decodeErrors });
            } catch (err) {
              reject(err);
            }
          });
        const onAbort = () => c.kill('SIGKILL');
        signal?.addEventListener('abort', onAbort, { once: true });
        c.save(output);
      });
    },
  };
}
