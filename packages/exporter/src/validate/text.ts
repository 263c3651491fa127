import { createHash } from 'node:crypto';

/**
 * Text utilities for the quality gate: normalisation (so texts that differ only by case, punctuation or
 * spacing are the same), content-word sets, and MinHash signatures with LSH bands for near-duplicates.
 */

export function normalize(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function exactHash(text: string): string {
  return createHash('sha256').update(normalize(text)).digest('hex');
}

const STOP = new Set(
  'a an the and or but if of to in on at for with by from as is are was were be been being it its this that these those i me my we our you your he him his she her they them their there here what which who whom how why when where not no so very can could would should will just do does did have has had about into over than then too also'.split(
    ' ',
  ),
);

export function contentWords(text: string): Set<string> {
  return new Set(
    normalize(text)
      .split(' ')
      .filter((w) => w.length > 1 && !STOP.has(w)),
  );
}

export function jaccard<T>(a: Set<T>, b: Set<T>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

export const MINHASH_SIZE = 32;
export const LSH_BANDS = 8; // 8 bands × 4 rows: pairs above ~0.7 similarity share a band with high probability
const ROWS = MINHASH_SIZE / LSH_BANDS;

function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix32)
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The shingles MinHash works on: the content words of the normalised text (stop words dropped). Word
 * sets make near-duplicates robust to small insertions ("where you really like to spend your free
 * time"), which n-gram shingles over-penalise on texts as short as practice items.
 */
export function shingles(text: string): Set<string> {
  const words = contentWords(text);
  return words.size > 0 ? words : new Set(normalize(text).split(' ').filter(Boolean));
}

export function minhash(text: string): number[] {
  const sh = [...shingles(text)];
  const sig = new Array<number>(MINHASH_SIZE).fill(0xffffffff);
  for (const s of sh) {
    for (let k = 0; k < MINHASH_SIZE; k++) {
      const h = fnv1a(s, k * 0x9e3779b9);
      if (h < (sig[k] ?? 0xffffffff)) sig[k] = h;
    }
  }
  return sig;
}

export function bandHashes(sig: number[]): string[] {
  const out: string[] = [];
  for (let b = 0; b < LSH_BANDS; b++) out.push(sig.slice(b * ROWS, (b + 1) * ROWS).join('-'));
  return out;
}

export function estimatedSimilarity(a: number[], b: number[]): number {
  let same = 0;
  for (let i = 0; i < MINHASH_SIZE; i++) if (a[i] === b[i]) same++;
  return same / MINHASH_SIZE;
}

/** The words of a text, lower case, punctuation dropped (apostrophes kept: "don't"). */
export function words(text: string): string[] {
  return normalize(text.replace(/['’]/g, '')).split(' ').filter(Boolean);
}

/** The sentences of a text: split after ".", "!" or "?" (and line ends), empty ones dropped. */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => /\p{L}/u.test(s));
}

/**
 * MTLD, the measure of textual lexical diversity (McCarthy & Jarvis 2010): the mean length of the runs
 * of words over which the type-token ratio stays above 0.72, averaged over a forward and a backward
 * pass. Unlike the type-token ratio it does not fall as a text grows, so short and long texts compare.
 */
export function mtld(text: string, threshold = 0.72): number {
  const ws = words(text);
  if (ws.length === 0) return 0;
  const pass = (seq: string[]) => {
    let factors = 0;
    let types = new Set<string>();
    let tokens = 0;
    for (const w of seq) {
      types.add(w);
      tokens++;
      if (types.size / tokens <= threshold) {
        factors++;
        types = new Set();
        tokens = 0;
      }
    }
    // the unfinished run counts as the fraction of a factor it got through
    if (tokens > 0) factors += (1 - types.size / tokens) / (1 - threshold);
    return factors > 0 ? seq.length / factors : seq.length;
  };
  return (pass(ws) + pass([...ws].reverse())) / 2;
}
