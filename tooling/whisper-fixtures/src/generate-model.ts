/**
 * A tiny whisper.cpp model with deterministic pseudo-random weights, in the legacy ggml file layout that
 * `whisper_model_load` (whisper.cpp src/whisper.cpp) reads and models/convert-pt-to-ggml.py writes:
 *
 *   u32 magic 0x67676d6c ("ggml")
 *   i32 x 11 hparams: n_vocab n_audio_ctx n_audio_state n_audio_head n_audio_layer
 *                     n_text_ctx n_text_state n_text_head n_text_layer n_mels ftype
 *   i32 n_mel, i32 n_fft, f32[n_mel * n_fft] mel filterbank (row-major: one row per mel band)
 *   i32 n_tokens, then per token: u32 byte length + bytes
 *   tensors until EOF: i32 n_dims, i32 name length, i32 ggml type (0 = f32, 1 = f16),
 *                      i32[n_dims] ne (ggml order: innermost first), name bytes, data
 *
 * All values little-endian. The model recognises nothing (random weights), but whisper-cli loads it
 * and runs the full encoder/decoder pipeline on it, so it is enough to test everything around whisper.
 */

/** GGML_FILE_MAGIC: the bytes "lmgg" on disk, "ggml" as a little-endian u32. */
export const GGML_FILE_MAGIC = 0x67676d6c;

/**
 * Hyper-parameters of the tiny model, in file order. English-only (n_vocab 51864 < 51865, so
 * `is_multilingual()` is false): token ids are GPT-2's text tokens 0..50255, then eot 50256, sot 50257,
 * translate 50358, transcribe 50359, solm 50360, prev 50361, nosp 50362, timestamps from 50363 (beg).
 * n_text_state must equal n_audio_state (the loader asserts it).
 */
export const TINY_WHISPER_HPARAMS = {
  n_vocab: 51864,
  n_audio_ctx: 1500,
  n_audio_state: 64,
  n_audio_head: 2,
  n_audio_layer: 1,
  n_text_ctx: 448,
  n_text_state: 64,
  n_text_head: 2,
  n_text_layer: 1,
  n_mels: 80,
  ftype: 1,
} as const;

export type WhisperHparams = { -readonly [K in keyof typeof TINY_WHISPER_HPARAMS]: number };

/**
 * The multilingual variant: n_vocab 51865 makes `is_multilingual()` true with 99 language tokens, so
 * `-l auto` runs language detection (an English-only model forces `en`). Text tokens 0..50256, eot 50257,
 * sot 50258, language tokens 50259..50357, timestamps from 50364.
 */
export const TINY_WHISPER_MULTILINGUAL_HPARAMS = { ...TINY_WHISPER_HPARAMS, n_vocab: 51865 } as const;

/** Order of the hparams in the file header. */
export const HPARAM_ORDER = [
  'n_vocab',
  'n_audio_ctx',
  'n_audio_state',
  'n_audio_head',
  'n_audio_layer',
  'n_text_ctx',
  'n_text_state',
  'n_text_head',
  'n_text_layer',
  'n_mels',
  'ftype',
] as const satisfies ReadonlyArray<keyof WhisperHparams>;

/** whisper.cpp's STFT: WHISPER_N_FFT 400 at 16 kHz; the filterbank covers bins 0..Nyquist = 1 + 400/2. */
export const WHISPER_SAMPLE_RATE = 16_000;
export const WHISPER_N_FFT = 400;
export const MEL_N_FFT_BINS = 1 + WHISPER_N_FFT / 2;

/**
 * Number of tokens stored in the file: GPT-2's 50256 text tokens, as in the real English models. The
 * loader adds the special and timestamp tokens up to n_vocab itself ("[_EOT_]", "[_BEG_]", "[_TT_n]").
 */
export const TEXT_TOKEN_COUNT = 50_256;
/** Text tokens of the multilingual vocabulary (one more than GPT-2's). */
export const MULTILINGUAL_TEXT_TOKEN_COUNT = 50_257;

/** ggml tensor types used here. */
export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;

export type TensorInit =
  | { kind: 'uniform'; std: number }
  | { kind: 'constant'; value: number }
  | { kind: 'sinusoids' };

export interface TensorSpec {
  name: string;
  /** Dimensions in ggml order (ne[0] innermost), as written to the file. */
  ne: number[];
  type: typeof GGML_TYPE_F32 | typeof GGML_TYPE_F16;
  init: TensorInit;
}

export interface GenerateOptions {
  /** PRNG seed for the weights (the vocab and filterbank do not depend on it). Default 1. */
  seed?: number;
  /** Multilingual vocabulary (n_vocab 51865) instead of English-only; default false. */
  multilingual?: boolean;
}

/** The tensors `whisper_model_load` expects for the given hparams: names, shapes and storage types. */
export function tensorSpecs(hp: WhisperHparams = TINY_WHISPER_HPARAMS): TensorSpec[] {
  // Matrices are f16 (ftype 1); 1-D tensors, conv biases and positional embeddings are f32, as in
  // convert-pt-to-ggml.py. The loader sizes the conv weights with `vtype` (f16 unless ftype is f32).
  const f16 = GGML_TYPE_F16;
  const f32 = GGML_TYPE_F32;
  const matrix = (name: string, nIn: number, nOut: number): TensorSpec => ({
    name,
    ne: [nIn, nOut],
    type: f16,
    init: { kind: 'uniform', std: 1 / Math.sqrt(nIn) },
  });
  const bias = (name: string, n: number): TensorSpec => ({
    name,
    ne: [n],
    type: f32,
    init: { kind: 'uniform', std: 0.02 },
  });
  const layerNorm = (prefix: string, n: number): TensorSpec[] => [
    { name: `${prefix}.weight`, ne: [n], type: f32, init: { kind: 'constant', value: 1 } },
    { name: `${prefix}.bias`, ne: [n], type: f32, init: { kind: 'constant', value: 0 } },
  ];
  const attention = (prefix: string, n: number): TensorSpec[] => [
    matrix(`${prefix}.query.weight`, n, n),
    bias(`${prefix}.query.bias`, n),
    matrix(`${prefix}.key.weight`, n, n),
    matrix(`${prefix}.value.weight`, n, n),
    bias(`${prefix}.value.bias`, n),
    matrix(`${prefix}.out.weight`, n, n),
    bias(`${prefix}.out.bias`, n),
  ];
  const mlp = (prefix: string, n: number): TensorSpec[] => [
    ...layerNorm(`${prefix}.mlp_ln`, n),
    matrix(`${prefix}.mlp.0.weight`, n, 4 * n),
    bias(`${prefix}.mlp.0.bias`, 4 * n),
    matrix(`${prefix}.mlp.2.weight`, 4 * n, n),
    bias(`${prefix}.mlp.2.bias`, n),
  ];

  const na = hp.n_audio_state;
  const nt = hp.n_text_state;
  const specs: TensorSpec[] = [
    {
      name: 'encoder.positional_embedding',
      ne: [na, hp.n_audio_ctx],
      type: f32,
      init: { kind: 'sinusoids' },
    },
    {
      name: 'encoder.conv1.weight',
      ne: [3, hp.n_mels, na],
      type: f16,
      init: { kind: 'uniform', std: 1 / Math.sqrt(3 * hp.n_mels) },
    },
    { name: 'encoder.conv1.bias', ne: [1, na], type: f32, init: { kind: 'uniform', std: 0.02 } },
    {
      name: 'encoder.conv2.weight',
      ne: [3, na, na],
      type: f16,
      init: { kind: 'uniform', std: 1 / Math.sqrt(3 * na) },
    },
    { name: 'encoder.conv2.bias', ne: [1, na], type: f32, init: { kind: 'uniform', std: 0.02 } },
  ];
  for (let i = 0; i < hp.n_audio_layer; i++) {
    const p = `encoder.blocks.${i}`;
    specs.push(...attention(`${p}.attn`, na), ...layerNorm(`${p}.attn_ln`, na), ...mlp(p, na));
  }
  specs.push(...layerNorm('encoder.ln_post', na));

  specs.push(
    {
      name: 'decoder.token_embedding.weight',
      ne: [nt, hp.n_vocab],
      type: f16,
      init: { kind: 'uniform', std: 0.5 },
    },
    {
      name: 'decoder.positional_embedding',
      ne: [nt, hp.n_text_ctx],
      type: f32,
      init: { kind: 'uniform', std: 2 },
    },
  );
  for (let i = 0; i < hp.n_text_layer; i++) {
    const p = `decoder.blocks.${i}`;
    specs.push(
      ...attention(`${p}.attn`, nt),
      ...layerNorm(`${p}.attn_ln`, nt),
      ...attention(`${p}.cross_attn`, nt),
      ...layerNorm(`${p}.cross_attn_ln`, nt),
      ...mlp(p, nt),
    );
  }
  specs.push(...layerNorm('decoder.ln', nt));
  return specs;
}

/**
 * The text vocabulary: printable ASCII tokens only, so whatever the random decoder emits is valid
 * UTF-8 and JSON-safe. Shaped like GPT-2's: single characters first, `" "` among them (whisper.cpp's
 * `whisper_process_logits` does `token_to_id.at(" ")` and aborts without it), then common English
 * words and made-up syllable words, each with and without a leading space. Independent of the seed.
 */
export function tinyVocab(count: number = TEXT_TOKEN_COUNT): string[] {
  const tokens: string[] = [];
  const seen = new Set<string>();
  const add = (t: string) => {
    if (tokens.length < count && !seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  };
  for (let c = 0x21; c <= 0x7e; c++) add(String.fromCharCode(c)); // "!".."~" as in GPT-2's first ids
  add(' ');
  for (const w of COMMON_WORDS) {
    add(` ${w}`);
    add(w);
    add(` ${w[0]?.toUpperCase()}${w.slice(1)}`);
  }
  for (const p of [' -', " '", ' "', ' (', '.', ',', '?', '!', "'s", "'t", 'ing', 'ed', 'er', 'ly']) add(p);
  const onsets = ['', 'b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w'];
  const extra = ['', 'y', 'z', 'ch', 'sh', 'th', 'st', 'tr', 'pl', 'gr', 'br', 'cl', 'fr'];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ee', 'ou', 'ai'];
  const codas = ['', 'n', 'r', 's', 't', 'l', 'm', 'd', 'ng', 'ck'];
  const syllables: string[] = [];
  for (const o of [...onsets, ...extra.slice(1)]) {
    for (const v of vowels) for (const c of codas) syllables.push(`${o}${v}${c}`);
  }
  for (const s of syllables) {
    add(` ${s}`);
    add(s);
  }
  // Two-syllable words, visited in a scattered order (a stride coprime to the pair count) so the tail
  // of the vocab is not all words starting with the same syllable.
  const nPairs = syllables.length * syllables.length;
  for (let k = 0; k < nPairs && tokens.length < count; k++) {
    const idx = (k * 7919) % nPairs;
    const word = `${syllables[Math.floor(idx / syllables.length)]}${syllables[idx % syllables.length]}`;
    add(` ${word}`);
    add(word);
  }
  if (tokens.length !== count)
    throw new Error(`vocab generator produced ${tokens.length} of ${count} tokens`);
  return tokens;
}

const COMMON_WORDS = [
  'the be to of and a in that have i it for not on with he as you do at this but his by from they',
  'we say her she or an will my one all would there their what so up out if about who get which go',
  'me when make can like time no just him know take people into year your good some could them see',
  'other than then now look only come its over think also back after use two how our work first',
  'well way even new want because any these give day most us is are was were been has had did said',
  'very really speak language english test question answer talk about family home town city school',
  'study job friend travel book music food weather hobby',
]
  .join(' ')
  .split(' ');

// ---------------------------------------------------------------------------------------------------
// Numbers

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; deterministic for a given seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary32 -> binary16 bits, round to nearest even (subnormals kept; NaN not expected). */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (exp <= 0) {
    if (exp < -10) return sign; // underflow -> signed zero
    const m = mant | 0x800000;
    const shift = 14 - exp;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is correct
  return sign | h;
}

/** binary16 bits -> number (for tests and inspection). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * librosa.filters.mel(sr=16000, n_fft=400, n_mels) with Slaney mel scale and Slaney area normalisation,
 * which is what OpenAI's whisper ships in mel_filters.npz and what convert-pt-to-ggml.py writes.
 * Returns n_mels rows of MEL_N_FFT_BINS floats.
 */
export function melFilterbank(nMels: number = TINY_WHISPER_HPARAMS.n_mels): Float32Array {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  const hzToMel = (f: number) => (f < minLogHz ? f / fSp : minLogMel + Math.log(f / minLogHz) / logStep);
  const melToHz = (m: number) => (m < minLogMel ? m * fSp : minLogHz * Math.exp(logStep * (m - minLogMel)));

  const nBins = MEL_N_FFT_BINS;
  const fftFreqs = Array.from({ length: nBins }, (_, k) => (k * WHISPER_SAMPLE_RATE) / WHISPER_N_FFT);
  const melMax = hzToMel(WHISPER_SAMPLE_RATE / 2);
  const melF = Array.from({ length: nMels + 2 }, (_, i) => melToHz((melMax * i) / (nMels + 1)));

  const out = new Float32Array(nMels * nBins);
  for (let i = 0; i < nMels; i++) {
    const lo = melF[i] ?? 0;
    const mid = melF[i + 1] ?? 0;
    const hi = melF[i + 2] ?? 0;
    const enorm = 2 / (hi - lo);
    for (let k = 0; k < nBins; k++) {
      const f = fftFreqs[k] ?? 0;
      const lower = (f - lo) / (mid - lo);
      const upper = (hi - f) / (hi - mid);
      out[i * nBins + k] = Math.max(0, Math.min(lower, upper)) * enorm;
    }
  }
  return out;
}

/** Whisper's encoder positional embedding: sin for the first half of the channels, cos for the second. */
function sinusoids(length: number, channels: number): Float32Array {
  const out = new Float32Array(length * channels);
  const half = channels / 2;
  const logTimescaleIncrement = Math.log(10_000) / (half - 1);
  for (let t = 0; t < length; t++) {
    for (let c = 0; c < half; c++) {
      const angle = t * Math.exp(-logTimescaleIncrement * c);
      out[t * channels + c] = Math.sin(angle);
      out[t * channels + half + c] = Math.cos(angle);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Serialisation

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('whisper-fixtures writes tensor data through typed arrays and needs a little-endian host');
}

/** Exact byte size of the model file for these hparams (and vocab). */
function fileSize(hp: WhisperHparams, vocab: Uint8Array[], specs: TensorSpec[]): number {
  let size = 4 + 4 * HPARAM_ORDER.length;
  size += 8 + 4 * hp.n_mels * MEL_N_FFT_BINS;
  size += 4;
  for (const t of vocab) size += 4 + t.length;
  for (const s of specs) {
    const n = s.ne.reduce((a, b) => a * b, 1);
    size += 12 + 4 * s.ne.length + Buffer.byteLength(s.name) + n * (s.type === GGML_TYPE_F16 ? 2 : 4);
  }
  return size;
}

/**
 * The tiny whisper model as one Buffer (~8 MB). Weights are uniform pseudo-random with a variance that
 * keeps activations finite (1/fan_in for matrices), layer norms are identity, the encoder positional
 * embedding is whisper's sinusoid table. Same seed, same bytes.
 */
export function generateTinyWhisperModel(opts: GenerateOptions = {}): Buffer {
  const hp: WhisperHparams = opts.multilingual ? TINY_WHISPER_MULTILINGUAL_HPARAMS : TINY_WHISPER_HPARAMS;
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const rand = mulberry32(seed);
  const encoder = new TextEncoder();
  const vocab = tinyVocab(opts.multilingual ? MULTILINGUAL_TEXT_TOKEN_COUNT : TEXT_TOKEN_COUNT).map((t) =>
    encoder.encode(t),
  );
  const specs = tensorSpecs(hp);

  const buf = Buffer.alloc(fileSize(hp, vocab, specs));
  let off = 0;
  const i32 = (v: number) => {
    off = buf.writeInt32LE(v, off);
  };
  const bytes = (b: Uint8Array) => {
    buf.set(b, off);
    off += b.length;
  };

  off = buf.writeUInt32LE(GGML_FILE_MAGIC, off);
  for (const k of HPARAM_ORDER) i32(hp[k]);

  i32(hp.n_mels);
  i32(MEL_N_FFT_BINS);
  const filters = melFilterbank(hp.n_mels);
  bytes(new Uint8Array(filters.buffer, filters.byteOffset, filters.byteLength));

  i32(vocab.length);
  for (const t of vocab) {
    off = buf.writeUInt32LE(t.length, off);
    bytes(t);
  }

  for (const s of specs) {
    const name = encoder.encode(s.name);
    i32(s.ne.length);
    i32(name.length);
    i32(s.type);
    for (const d of s.ne) i32(d);
    bytes(name);

    const n = s.ne.reduce((a, b) => a * b, 1);
    const values = tensorValues(s, n, rand);
    if (s.type === GGML_TYPE_F32) {
      bytes(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    } else {
      const half = new Uint16Array(n);
      for (let i = 0; i < n; i++) half[i] = f32ToF16Bits(values[i] ?? 0);
      bytes(new Uint8Array(half.buffer));
    }
  }
  if (off !== buf.length) throw new Error(`internal: wrote ${off} of ${buf.length} bytes`);
  return buf;
}

function tensorValues(s: TensorSpec, n: number, rand: () => number): Float32Array {
  const init = s.init;
  switch (init.kind) {
    case 'constant':
      return new Float32Array(n).fill(init.value);
    case 'sinusoids':
      return sinusoids(s.ne[1] ?? 1, s.ne[0] ?? 1);
    case 'uniform': {
      // Uniform on [-a, a] has standard deviation a / sqrt(3).
      const a = init.std * Math.sqrt(3);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * a;
      return out;
    }
  }
}
