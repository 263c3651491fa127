import type { TimedSegment } from '../whisper/whisper-json.ts';
import { type EnergyProfile, peakBetween } from './energy.ts';

/**
 * Guards against whisper's known failure on non-speech: fluent text over silence or noise, usually the
 * same phrase repeated, or stock phrases from its training subtitles. Pure functions; the result marks a
 * transcript "suspect" (kept, flagged) and names the suspicious segments.
 */
export interface HallucinationOptions {
  /** A segment whose loudest 100 ms window is below this (dBFS) has no speech in it. */
  silenceDb: number;
  /** The same normalised text this many times in a row is a repetition loop. */
  repeatRun: number;
  /** Share of segments that may be suspect before the whole transcript is. */
  maxSuspectShare: number;
}

export const DEFAULT_HALLUCINATION_OPTIONS: HallucinationOptions = {
  silenceDb: -45,
  repeatRun: 3,
  maxSuspectShare: 0.5,
};

/** Phrases whisper emits on silence, learned from subtitle credits. Matched whole, case-insensitively. */
const STOCK_PHRASES = [
  'thank you for watching',
  'thanks for watching',
  'please subscribe',
  'subtitles by the amara.org community',
  'subtitles by',
  'transcription by castingwords',
  'you',
  'bye',
  'thank you',
];

export interface Verdict {
  flags: string[];
  /** Indexes of suspicious segments. */
  suspectSegments: number[];
  /** True when the transcript as a whole should not be trusted. */
  suspect: boolean;
}

const norm = (t: string) =>
  t
    .toLowerCase()
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** True when a short phrase makes up most of the text (e.g. "I'm going. I'm going. I'm going."). */
export function repeatsWithin(text: string, minRepeats = 3): boolean {
  const words = norm(text).split(' ').filter(Boolean);
  for (let size = 1; size <= 6; size++) {
    if (words.length < size * minRepeats) break;
    for (let start = 0; start + size * minRepeats <= words.length; start++) {
      const gram = words.slice(start, start + size).join(' ');
      let reps = 1;
      while (words.slice(start + reps * size, start + (reps + 1) * size).join(' ') === gram) reps++;
      if (reps >= minRepeats && reps * size >= words.length * 0.6) return true;
    }
  }
  return false;
}

export function judgeTranscript(
  segments: TimedSegment[],
  energy: EnergyProfile | null,
  opts: HallucinationOptions = DEFAULT_HALLUCINATION_OPTIONS,
): Verdict {
  const flags = new Set<string>();
  const suspect = new Set<number>();
  let run = 1;
  segments.forEach((s, i) => {
    const text = norm(s.text);
    if (energy && peakBetween(energy, s.startMs, s.endMs) < opts.silenceDb) {
      flags.add('text_over_silence');
      suspect.add(i);
    }
    if (STOCK_PHRASES.includes(text)) {
      flags.add('stock_phrase');
      suspect.add(i);
    }
    if (repeatsWithin(s.text)) {
      flags.add('repetition_loop');
      suspect.add(i);
    }
    const prev = segments[i - 1];
    run = prev && norm(prev.text) === text && text !== '' ? run + 1 : 1;
    if (run >= opts.repeatRun) {
      flags.add('repeated_segments');
      for (let k = i - run + 1; k <= i; k++) suspect.add(k);
    }
  });
  const share = segments.length ? suspect.size / segments.length : 0;
  return {
    flags: [...flags].sort(),
    suspectSegments: [...suspect].sort((a, b) => a - b),
    suspect: segments.length > 0 && share > opts.maxSuspectShare,
  };
}
