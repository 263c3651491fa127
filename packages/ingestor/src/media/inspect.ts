import { ItemRejected } from '../item-rejected.ts';
import type { NormalizeResult, ProbedStream, ProbeResult } from './media-tool.ts';

/**
 * The ingestor's acceptance rules, as pure functions over what ffprobe and ffmpeg reported. Every rule
 * that fails throws an ItemRejected with a precise reason and detail.
 */
export interface MediaLimits {
  minDurationS: number;
  maxDurationS: number;
  /** Below this the audio is too degraded for speech recognition. */
  minSampleRate: number;
  /** A peak at or below this level (dBFS) is silence. */
  silenceMaxDb: number;
  /** Decoding less than this share of the declared duration means the file is truncated. */
  minDecodedRatio: number;
}

export const DEFAULT_LIMITS: MediaLimits = {
  minDurationS: 1,
  maxDurationS: 3 * 60 * 60,
  minSampleRate: 8000,
  silenceMaxDb: -60,
  minDecodedRatio: 0.9,
};

export interface Accepted {
  mediaType: 'audio' | 'video';
  audio: ProbedStream;
  declaredDurationS: number | null;
}

const VIDEO_CODECS_THAT_ARE_IMAGES = new Set(['mjpeg', 'png', 'bmp', 'gif', 'webp', 'tiff']);

/**
 * Rules on the probe: an audio stream exists, its rate is usable, the declared duration is in bounds.
 * `wav` is what a WAV header declares versus the bytes present (see sniff.ts), when the file is a WAV.
 */
export function acceptProbe(
  probe: ProbeResult,
  limits: MediaLimits,
  wav: { declared: number; present: number; byteRate: number } | null = null,
): Accepted {
  const audio = probe.streams.find((s) => s.type === 'audio');
  if (!audio) {
    const kinds = probe.streams.map((s) => `${s.type}/${s.codec}`).join(', ') || 'no streams';
    throw new ItemRejected('not_audio', `no audio stream (${probe.formatName}: ${kinds})`);
  }
  if (audio.sampleRate === null || audio.sampleRate <= 0 || audio.sampleRate > 768_000) {
    throw new ItemRejected(
      'corrupt',
      `audio stream declares an impossible sample rate (${String(audio.sampleRate)})`,
    );
  }
  if (audio.sampleRate < limits.minSampleRate) {
    throw new ItemRejected(
      'low_quality',
      `sample rate ${audio.sampleRate} Hz is below ${limits.minSampleRate} Hz`,
    );
  }
  if (wav && wav.byteRate > 0 && wav.declared > wav.present) {
    const declaredS = wav.declared / wav.byteRate;
    if (declaredS > limits.maxDurationS) {
      throw new ItemRejected(
        'too_long',
        `WAV header declares ${secondsOver(declaredS, limits.maxDurationS)} s, limit ${limits.maxDurationS} s`,
      );
    }
    throw new ItemRejected(
      'corrupt',
      `truncated: WAV header declares ${declaredS.toFixed(1)} s, the file holds ${(wav.present / wav.byteRate).toFixed(1)} s`,
    );
  }
  const declared = audio.durationS ?? probe.durationS;
  if (declared !== null && declared > limits.maxDurationS) {
    throw new ItemRejected(
      'too_long',
      `declares ${secondsOver(declared, limits.maxDurationS)} s, limit ${limits.maxDurationS} s`,
    );
  }
  const hasVideo = probe.streams.some(
    (s) => s.type === 'video' && !VIDEO_CODECS_THAT_ARE_IMAGES.has(s.codec),
  );
  return { mediaType: hasVideo ? 'video' : 'audio', audio, declaredDurationS: declared };
}

/** Rules on the decoded audio: something decoded, not truncated, long enough, not too long, not silent. */
export function acceptDecoded(accepted: Accepted, decoded: NormalizeResult, limits: MediaLimits): void {
  const seconds = decoded.durationMs / 1000;
  if (decoded.durationMs === 0) {
    throw new ItemRejected('corrupt', 'no audio could be decoded');
  }
  if (seconds >= limits.maxDurationS) {
    throw new ItemRejected(
      'too_long',
      `decodes to at least ${limits.maxDurationS} s, limit ${limits.maxDurationS} s`,
    );
  }
  const declared = accepted.declaredDurationS;
  if (declared !== null && declared > 0 && seconds < declared * limits.minDecodedRatio) {
    throw new ItemRejected(
      'corrupt',
      `truncated: decoded ${seconds.toFixed(1)} s of a declared ${declared.toFixed(1)} s` +
        (decoded.decodeErrors ? ` (${decoded.decodeErrors} decode errors)` : ''),
    );
  }
  if (seconds < limits.minDurationS) {
    throw new ItemRejected('too_short', `${seconds.toFixed(2)} s of audio, minimum ${limits.minDurationS} s`);
  }
  if (decoded.maxVolumeDb === null || decoded.maxVolumeDb <= limits.silenceMaxDb) {
    const peak = decoded.maxVolumeDb === null ? '-inf' : decoded.maxVolumeDb.toFixed(1);
    throw new ItemRejected('silent', `peak level ${peak} dBFS is at or below ${limits.silenceMaxDb} dBFS`);
  }
}

/** A file extension for the stored source, from the container ffprobe recognised. */
export function extensionFor(formatName: string, codec: string, mediaType: 'audio' | 'video'): string {
  const f = formatName.split(',');
  if (f.includes('wav')) return 'wav';
  if (f.includes('mp3')) return 'mp3';
  if (f.includes('flac')) return 'flac';
  if (f.includes('ogg')) return codec === 'opus' ? 'opus' : 'ogg';
  if (f.includes('matroska') || f.includes('webm')) return mediaType === 'video' ? 'mkv' : 'mka';
  if (f.includes('mp4') || f.includes('mov') || f.includes('m4a'))
    return mediaType === 'video' ? 'mp4' : 'm4a';
  if (f.includes('aac')) return 'aac';
  return 'bin';
}

/**
 * A duration over a limit, with as many decimals as it takes to show that it is over: 10800.0065
 * against 10800 reads 10800.007, not 10800.0.
 */
export function secondsOver(value: number, limit: number): string {
  for (let digits = 1; digits <= 6; digits++) {
    const text = value.toFixed(digits);
    if (Number(text) > limit) return text;
  }
  return String(value);
}
