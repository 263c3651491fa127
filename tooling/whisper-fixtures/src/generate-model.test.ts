import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireFile } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  f16BitsToF32,
  f32ToF16Bits,
  GGML_FILE_MAGIC,
  GGML_TYPE_F16,
  GGML_TYPE_F32,
  generateTinyWhisperModel,
  MEL_N_FFT_BINS,
  MULTILINGUAL_TEXT_TOKEN_COUNT,
  TEXT_TOKEN_COUNT,
  TINY_WHISPER_HPARAMS,
  TINY_WHISPER_MULTILINGUAL_HPARAMS,
  tensorSpecs,
} from './generate-model.ts';
import { parseWhisperModel } from './read-model.ts';
import { writeTinyWhisperModel } from './write-model.ts';

const run = promisify(execFile);

describe('generateTinyWhisperModel', () => {
  const model = generateTinyWhisperModel({ seed: 1 });
  const parsed = parseWhisperModel(model);

  it('writes the ggml magic and the hparams in whisper_model_load order', () => {
    expect(model.readUInt32LE(0)).toBe(GGML_FILE_MAGIC);
    expect(model.subarray(0, 4).toString('latin1')).toBe('lmgg');
    expect(parsed.hparams).toEqual(TINY_WHISPER_HPARAMS);
    expect(parsed.hparams.n_vocab).toBe(51_864); // English-only: is_multilingual() is n_vocab >= 51865
    expect(parsed.hparams.n_text_state).toBe(parsed.hparams.n_audio_state);
  });

  it('has an 80 x 201 finite, non-negative mel filterbank with every band non-empty', () => {
    expect(parsed.mel.nMel).toBe(80);
    expect(parsed.mel.nFft).toBe(MEL_N_FFT_BINS);
    expect(MEL_N_FFT_BINS).toBe(201); // whisper.cpp asserts n_fft == 1 + WHISPER_N_FFT / 2
    for (let m = 0; m < parsed.mel.nMel; m++) {
      const row = parsed.mel.data.subarray(m * MEL_N_FFT_BINS, (m + 1) * MEL_N_FFT_BINS);
      expect(row.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      expect(Math.max(...row)).toBeGreaterThan(0);
    }
  });

  it('stores every tensor the loader expects, with its shape and type (f16 matrices, f32 1-D)', () => {
    const expected = tensorSpecs();
    expect(parsed.tensors).toHaveLength(expected.length);
    // 10 + 15 + 15 * n_audio_layer + 24 * n_text_layer is the loader's upper bound on tensor count.
    expect(expected).toHaveLength(7 + 15 * 1 + 4 + 24 * 1);
    const byName = new Map(parsed.tensors.map((t) => [t.name, t]));
    for (const spec of expected) {
      const t = byName.get(spec.name);
      expect(t, spec.name).toBeDefined();
      expect(t?.ne).toEqual(spec.ne);
      expect(t?.type).toBe(spec.type);
    }
    expect(byName.get('decoder.token_embedding.weight')?.ne).toEqual([64, 51_864]);
    expect(byName.get('encoder.conv1.weight')).toMatchObject({ ne: [3, 80, 64], type: GGML_TYPE_F16 });
    expect(byName.get('encoder.conv1.bias')).toMatchObject({ ne: [1, 64], type: GGML_TYPE_F32 });
    expect(byName.get('encoder.positional_embedding')).toMatchObject({ ne: [64, 1500], type: GGML_TYPE_F32 });
    for (const t of parsed.tensors) {
      if (t.ne.length === 1) expect(t.type, t.name).toBe(GGML_TYPE_F32);
    }
  });

  it('is about 8 MB, all weights finite, and generates well under a second', () => {
    expect(model.length).toBeGreaterThan(7_000_000);
    expect(model.length).toBeLessThan(9_000_000);
    const t0 = performance.now();
    generateTinyWhisperModel({ seed: 7 });
    expect(performance.now() - t0).toBeLessThan(1000);
    const te = parsed.tensors.find((t) => t.name === 'decoder.token_embedding.weight');
    if (!te) throw new Error('no token embedding');
    for (let i = 0; i < te.byteLength; i += 2) {
      if (!Number.isFinite(f16BitsToF32(model.readUInt16LE(te.offset + i))))
        throw new Error(`non-finite at ${i}`);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    expect(generateTinyWhisperModel({ seed: 1 }).equals(model)).toBe(true);
    expect(generateTinyWhisperModel().equals(model)).toBe(true); // default seed is 1
    const other = generateTinyWhisperModel({ seed: 2 });
    expect(other.length).toBe(model.length);
    expect(other.equals(model)).toBe(false);
    // Only weights depend on the seed: header, filterbank and vocab are identical.
    const weightsStart = parsed.tensors[0]?.offset ?? 0;
    expect(other.subarray(0, weightsStart).equals(model.subarray(0, weightsStart))).toBe(true);
  });

  it('has a printable-ASCII vocab with a " " token and no duplicates', () => {
    expect(parsed.vocab).toHaveLength(TEXT_TOKEN_COUNT);
    expect(parsed.vocab).toContain(' ');
    expect(parsed.vocab).toContain(' the');
    expect(new Set(parsed.vocab).size).toBe(parsed.vocab.length);
    expect(parsed.vocab.every((t) => /^[\x20-\x7e]+$/.test(t))).toBe(true);
  });

  it('has a multilingual variant (n_vocab 51865) for language detection', () => {
    const m = parseWhisperModel(generateTinyWhisperModel({ multilingual: true }));
    expect(m.hparams).toEqual(TINY_WHISPER_MULTILINGUAL_HPARAMS);
    expect(m.vocab).toHaveLength(MULTILINGUAL_TEXT_TOKEN_COUNT);
    expect(m.tensors.find((t) => t.name === 'decoder.token_embedding.weight')?.ne).toEqual([64, 51_865]);
  });

  it('converts f32 to f16 with round-to-nearest-even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -24, 2 ** -14, 0.1, -0.333]) {
      expect(f16BitsToF32(f32ToF16Bits(v))).toBeCloseTo(Math.fround(v), 3);
    }
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(1e6)).toBe(0x7c00);
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
  });
});

// --- end to end through a real whisper-cli ------------------------------------------------------

const whisperCli =
  requireFile('whisper-cli', 'WHISPER_CLI', 'set it, e.g. WHISPER_CLI=$(scripts/build-whisper)') ?? '';
const haveCli = whisperCli !== '';

interface WhisperJson {
  params: { model: string; language: string; translate: boolean };
  result: { language: string };
  transcription: Array<{
    timestamps: { from: string; to: string };
    offsets: { from: number; to: number };
    text: string;
    tokens?: Array<{
      text: string;
      id: number;
      p: number;
      t_dtw: number;
      offsets?: { from: number; to: number };
    }>;
  }>;
}

describe.skipIf(!haveCli)('whisper-cli on the tiny model', () => {
  let dir = '';
  let wav = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'whisper-fixtures-'));
    const raw = join(dir, 'speech.wav');
    wav = join(dir, 'speech16k.wav');
    await run('espeak-ng', ['-w', raw, 'Hello, I would like to talk about my home town.']);
    await run('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-i',
      raw,
      '-ar',
      '16000',
      '-ac',
      '1',
      '-c:a',
      'pcm_s16le',
      wav,
    ]);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!haveCli)('loads the model and transcribes a short WAV to JSON (-oj)', async () => {
    const modelPath = await writeTinyWhisperModel(join(dir, 'tiny.bin'), { seed: 1 });
    expect((await stat(modelPath)).size).toBe(generateTinyWhisperModel({ seed: 1 }).length);
    const outBase = join(dir, 'out');
    // -bs 1 -bo 1: greedy decoding (the CLI's default is a 5-beam search); -nf: no temperature fallback.
    const args = [
      '-m',
      modelPath,
      '-f',
      wav,
      '-oj',
      '-of',
      outBase,
      '-nf',
      '-bs',
      '1',
      '-bo',
      '1',
      '-l',
      'en',
      '-np',
    ];
    const { stderr } = await run(whisperCli, args); // rejects on a non-zero exit code
    expect(stderr).not.toMatch(/error/i);
    const json = JSON.parse(await readFile(`${outBase}.json`, 'utf8')) as WhisperJson;
    expect(Array.isArray(json.transcription)).toBe(true);
    expect(json.result.language).toBe('en');
    for (const seg of json.transcription) {
      expect(typeof seg.text).toBe('string');
      expect(seg.offsets.to).toBeGreaterThanOrEqual(seg.offsets.from); // milliseconds
    }
  });

  it.skipIf(!haveCli)(
    'detects a language with -l auto on the multilingual variant and writes tokens with -ojf',
    async () => {
      const modelPath = await writeTinyWhisperModel(join(dir, 'tiny-multi.bin'), { multilingual: true });
      const outBase = join(dir, 'full');
      await run(whisperCli, [
        '-m',
        modelPath,
        '-f',
        wav,
        '-ojf',
        '-of',
        outBase,
        '-nf',
        '-bs',
        '1',
        '-l',
        'auto',
        '-np',
      ]);
      const json = JSON.parse(await readFile(`${outBase}.json`, 'utf8')) as WhisperJson;
      expect(json.params.language).toBe('auto');
      expect(json.result.language).toMatch(/^[a-z]{2,3}$/); // the detected language (random here)
      for (const seg of json.transcription) {
        expect(Array.isArray(seg.tokens)).toBe(true);
        for (const tok of seg.tokens ?? []) expect(typeof tok.id).toBe('number');
      }
    },
  );
});
