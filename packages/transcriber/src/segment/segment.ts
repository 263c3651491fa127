import type { TimedSegment, Word } from '../whisper/whisper-json.ts';

/**
 * Segmentation: whisper's segments (windows of decoding) become utterances, i.e. question–answer turns.
 * Pure: the same transcript always gives the same utterances, so it is tested on its own.
 *
 * Rules, in order:
 *  1. Flatten to words (whisper's word timing when present, else a segment is one "word" span).
 *  2. Cut where the silence between two words is at least `pauseMs`, after sentence-final
 *     punctuation followed by at least `sentencePauseMs`, after a "?", and before a sentence ending in
 *     "?" that follows a statement (an answer's last sentence and the next question often come with
 *     no measurable gap in whisper's word timing).
 *  3. A piece is a question when it ends with "?", opens with an examiner's imperative ("tell me",
 *     "describe"…), or opens like a question (wh-word, auxiliary inversion) without ending as a
 *     statement ("When I was young I …." is an answer); examiner questions and candidate answers
 *     alternate in IELTS recordings, so a question always closes the previous turn.
 *  4. Fragments shorter than `minMs` merge into the previous utterance (or the next, at the start).
 *  5. An utterance longer than `maxMs` is split at its longest internal pause.
 */

export interface SegmentOptions {
  pauseMs: number;
  sentencePauseMs: number;
  minMs: number;
  maxMs: number;
}

export const DEFAULT_SEGMENT_OPTIONS: SegmentOptions = {
  pauseMs: 700,
  sentencePauseMs: 250,
  minMs: 800,
  maxMs: 30_000,
};

export type Turn = 'question' | 'answer';

export interface Utterance {
  idx: number;
  startMs: number;
  endMs: number;
  text: string;
  turn: Turn;
}

const PROMPT_OPENERS = /^(tell me|describe|talk about|explain|let's talk|let us talk|in your opinion)\b/i;
const QUESTION_OPENERS =
  /^(what|when|where|which|who|whom|whose|why|how|do|does|did|is|are|was|were|can|could|would|will|should|shall|have|has|had|may|might)\b/i;
const STATEMENT_END = /[.!]["')\]]?$/;
const SENTENCE_END = /[.!?]["')\]]?$/;

export function isQuestion(text: string): boolean {
  const t = text.trim();
  const opening = t.replace(/^(so|and|ok|okay|now|well|right)[,.]?\s+/i, '');
  return (
    t.endsWith('?') ||
    PROMPT_OPENERS.test(opening) ||
    (QUESTION_OPENERS.test(opening) && !STATEMENT_END.test(t))
  );
}

/** Whether the sentence starting at words[i] ends with "?" (within the next 60 words). */
function questionSentenceAt(words: Word[], i: number): boolean {
  for (let j = i; j < Math.min(words.length, i + 60); j++) {
    const t = words[j]?.text ?? '';
    if (SENTENCE_END.test(t)) return t.endsWith('?');
  }
  return false;
}

function wordsOf(segments: TimedSegment[]): Word[] {
  return segments.flatMap((s) =>
    s.words && s.words.length > 0 ? s.words : [{ text: s.text, startMs: s.startMs, endMs: s.endMs }],
  );
}

function join(words: Word[]): string {
  return words
    .map((w) => w.text)
    .join(' ')
    .replace(/\s+([,.!?;:])/g, '$1')
    .trim();
}

function splitLong(words: Word[], maxMs: number): Word[][] {
  const first = words[0];
  const last = words.at(-1);
  if (!first || !last || last.endMs - first.startMs <= maxMs || words.length < 2) return [words];
  let cut = 1;
  let widest = -1;
  for (let i = 1; i < words.length; i++) {
    const gap = (words[i]?.startMs ?? 0) - (words[i - 1]?.endMs ?? 0);
    if (gap > widest) {
      widest = gap;
      cut = i;
    }
  }
  return [...splitLong(words.slice(0, cut), maxMs), ...splitLong(words.slice(cut), maxMs)];
}

export function segmentTranscript(
  segments: TimedSegment[],
  opts: SegmentOptions = DEFAULT_SEGMENT_OPTIONS,
): Utterance[] {
  const words = wordsOf(segments).filter((w) => w.text.trim() !== '');
  // 1–2: pieces at pauses and sentence ends.
  const pieces: Word[][] = [];
  let current: Word[] = [];
  for (const [i, w] of words.entries()) {
    const prev = current.at(-1);
    if (prev) {
      const gap = w.startMs - prev.endMs;
      const sentenceEnd = SENTENCE_END.test(prev.text);
      if (
        gap >= opts.pauseMs ||
        (sentenceEnd && gap >= opts.sentencePauseMs) ||
        prev.text.endsWith('?') ||
        (sentenceEnd && questionSentenceAt(words, i))
      ) {
        pieces.push(current);
        current = [];
      }
    }
    current.push(w);
  }
  if (current.length > 0) pieces.push(current);

  // 3: label; consecutive pieces of the same turn kind join into one utterance.
  const turns: Array<{ words: Word[]; turn: Turn }> = [];
  for (const piece of pieces) {
    const turn: Turn = isQuestion(join(piece)) ? 'question' : 'answer';
    const prev = turns.at(-1);
    const prevLast = prev?.words.at(-1);
    const gap = prevLast ? (piece[0]?.startMs ?? 0) - prevLast.endMs : Number.POSITIVE_INFINITY;
    // Two answers separated by a long pause are still one answer; a question always starts a new turn.
    if (prev && prev.turn === 'answer' && turn === 'answer' && gap < opts.pauseMs * 3)
      prev.words.push(...piece);
    else turns.push({ words: [...piece], turn });
  }

  // 4: merge fragments that are too short to be an utterance.
  const merged: Array<{ words: Word[]; turn: Turn }> = [];
  for (const t of turns) {
    const dur = (t.words.at(-1)?.endMs ?? 0) - (t.words[0]?.startMs ?? 0);
    const prev = merged.at(-1);
    if (prev && dur < opts.minMs && t.turn === 'answer') prev.words.push(...t.words);
    else merged.push(t);
  }
  const head = merged[0];
  const second = merged[1];
  if (head && second && head.turn === 'answer' && second.turn === 'answer') {
    const dur = (head.words.at(-1)?.endMs ?? 0) - (head.words[0]?.startMs ?? 0);
    if (dur < opts.minMs) {
      second.words.unshift(...head.words);
      merged.shift();
    }
  }

  // 5: bound length; number.
  const out: Utterance[] = [];
  for (const t of merged) {
    for (const part of splitLong(t.words, opts.maxMs)) {
      const first = part[0];
      const last = part.at(-1);
      if (!first || !last) continue;
      out.push({
        idx: out.length,
        startMs: first.startMs,
        endMs: Math.max(first.startMs, last.endMs),
        text: join(part),
        turn: t.turn,
      });
    }
  }
  return out;
}
