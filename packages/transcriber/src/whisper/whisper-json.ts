import { z } from 'zod';

/**
 * whisper-cli's JSON output (`-oj`, and `-ojf` for per-token timing), checked with zod and turned into
 * our transcript segments. Offsets are milliseconds. Tokens are sub-word pieces: a piece starting with a
 * space begins a new word. Special tokens (end-of-text, timestamps, `[_TT_…]`) are dropped. Random or
 * confused decoders can emit times past the end of the audio, so every time is clamped.
 */

const Offsets = z.object({ from: z.number(), to: z.number() });

const WhisperToken = z.object({
  text: z.string(),
  offsets: Offsets,
  id: z.number().int(),
  p: z.number().optional(),
});

const WhisperSegment = z.object({
  offsets: Offsets,
  text: z.string(),
  tokens: z.array(WhisperToken).optional(),
});

export const WhisperOutput = z.object({
  model: z.object({ multilingual: z.boolean() }).partial().optional(),
  result: z.object({ language: z.string() }).partial().optional(),
  transcription: z.array(WhisperSegment),
});
export type WhisperOutput = z.infer<typeof WhisperOutput>;

export interface Word {
  text: string;
  startMs: number;
  endMs: number;
  p?: number;
}

export interface TimedSegment {
  startMs: number;
  endMs: number;
  text: string;
  words?: Word[];
}

/** First special token id: <|endoftext|> is 50256 in English-only vocabularies, 50257 in multilingual ones. */
function firstSpecial(multilingual: boolean | undefined): number {
  return multilingual ? 50257 : 50256;
}

const clamp = (v: number, max: number) => Math.max(0, Math.min(Math.round(v), max));

export function toSegments(out: WhisperOutput, audioMs: number): TimedSegment[] {
  const special = firstSpecial(out.model?.multilingual);
  const segments: TimedSegment[] = [];
  for (const seg of out.transcription) {
    const text = seg.text.replace(/\s+/g, ' ').trim();
    if (text === '') continue;
    const startMs = clamp(seg.offsets.from, audioMs);
    const endMs = Math.max(startMs, clamp(seg.offsets.to, audioMs));
    const s: TimedSegment = { startMs, endMs, text };
    if (seg.tokens) {
      const words: Word[] = [];
      for (const t of seg.tokens) {
        if (t.id >= special || /^\[_.*\]$/.test(t.text) || t.text === '') continue;
        const tStart = Math.max(startMs, clamp(t.offsets.from, audioMs));
        const tEnd = Math.min(endMs, Math.max(tStart, clamp(t.offsets.to, audioMs)));
        const last = words.at(-1);
        if (last && !t.text.startsWith(' ')) {
          last.text += t.text;
          last.endMs = Math.max(last.endMs, tEnd);
          if (t.p !== undefined) last.p = Math.min(last.p ?? 1, t.p);
        } else {
          words.push({
            text: t.text.trim(),
            startMs: tStart,
            endMs: tEnd,
            ...(t.p !== undefined ? { p: t.p } : {}),
          });
        }
      }
      const kept = words.filter((w) => w.text !== '');
      if (kept.length > 0) s.words = kept;
    }
    segments.push(s);
  }
  return segments;
}

export function detectedLanguage(out: WhisperOutput, fallback: string): string {
  const lang = out.result?.language;
  return lang && lang !== 'auto' ? lang : fallback;
}
