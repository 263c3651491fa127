/**
 * What the ingestor needs from a media toolkit: probe a file, and decode its first audio stream into
 * 16 kHz mono s16le WAV while measuring loudness. The only implementation is fluent-ffmpeg over the
 * system ffmpeg/ffprobe (`fluent-ffmpeg-tool.ts`); fluent-ffmpeg is archived upstream, so nothing else
 * in the package imports it and a replacement only has to implement this interface.
 */

export interface ProbedStream {
  type: string;
  codec: string;
  sampleRate: number | null;
  channels: number | null;
  durationS: number | null;
}

export interface ProbeResult {
  /** Container, e.g. "mp3", "wav", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm". */
  formatName: string;
  durationS: number | null;
  streams: ProbedStream[];
}

export interface NormalizeResult {
  /** Duration of the decoded audio, from the WAV's sample count. */
  durationMs: number;
  /** Peak and mean level of the decoded audio in dBFS (-inf for digital silence: null). */
  maxVolumeDb: number | null;
  meanVolumeDb: number | null;
  /** Decoder complaints ffmpeg printed while it still produced output (damaged frames). */
  decodeErrors: number;
}

/** ffprobe could not read the file. `unrecognised` when no demuxer recognised it at all. */
export class ProbeFailed extends Error {
  readonly unrecognised: boolean;
  constructor(message: string, unrecognised: boolean) {
    super(message);
    this.name = 'ProbeFailed';
    this.unrecognised = unrecognised;
  }
}

/** ffmpeg failed to decode the audio. */
export class DecodeFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeFailed';
  }
}

export interface MediaTool {
  probe(file: string, signal?: AbortSignal): Promise<ProbeResult>;
  /** Decodes at most `maxDurationS` seconds of the first audio stream into `output`. */
  normalize(
    input: string,
    output: string,
    opts: { maxDurationS: number; signal?: AbortSignal },
  ): Promise<NormalizeResult>;
}

export const WAV_SAMPLE_RATE = 16_000;
export const WAV_HEADER_BYTES = 44;
/** Bytes per second of 16 kHz mono s16le. */
export const WAV_BYTES_PER_SECOND = WAV_SAMPLE_RATE * 2;
