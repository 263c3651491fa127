// Transcription quality and speed on generated speech with known truth (run: pnpm --filter
// @pronielts/bench bench:quality). The corpus is bench/quality/exchanges.txt: 12 IELTS-style exchanges,
// spoken by espeak-ng (the examiner in en-gb, the candidate in one of three voices, at two speeds), each
// clean and with pink noise mixed in by sox at two signal-to-noise ratios. One run times, on the same
// files with the same threads and beam:
//  - pronielts-transcriber (the stage's bundle, a whisper-cli process per file) with Whisper base, f16
//    and whisper.cpp's q8_0 quantisation of it;
//  - bare whisper-cli, a call per file and one call for all files (the model loads once);
//  - faster-whisper (CTranslate2) on the same weights, int8 and float32;
//  - all at beam 5 without temperature fallback (BENCH_QUALITY_FALLBACK=1: with it, both tools'
//    default), then greedy decoding for the stage and for faster-whisper int8.
// It prints WER per noise condition, the stage's question/answer segmentation against the script, the
// real-time factor and the ratios to faster-whisper. A benchmark, not a test: nothing here asserts.
// BENCH_QUALITY_PASSAGES (default 12) runs fewer passages, BENCH_QUALITY_ONLY=stage runs only the stage
// at beam 5, BENCH_QUALITY_VERBOSE=1 prints every file's segments beside the script.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { addNoise, parseExchanges, synthesiseExchange, type TimedTurn } from '@pronielts/media-fixtures';
import { dbConfigFrom, sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { TranscriptDocument } from '@pronielts/shared/contracts';
import { listSegments, migrateToLatest, openDb } from '@pronielts/shared/db';
import { createObjectStore, getJson } from '@pronielts/shared/storage';
import { seedReadyMedia } from '@pronielts/shared/testing';
import { normalisedWords, wordErrorRate } from '@pronielts/test-services/wer';
import { whisperArgs } from '@pronielts/transcriber/whisper';
import { progress, table, timed } from './util.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CACHE = path.resolve(import.meta.dirname, '../.cache/quality');
const CLI = path.join(ROOT, 'packages/transcriber/dist/bundle/cli.js');
const PY = path.join(ROOT, '.venv/bin/python');
const PEER = path.resolve(import.meta.dirname, '../quality/faster_whisper_peer.py');
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const LIMIT = Number(process.env.BENCH_QUALITY_PASSAGES ?? 12);

const CANDIDATE_VOICES = ['en-us', 'en-gb-scotland', 'en-029'];
const SPEEDS = [140, 180];
const CONDITIONS = ['clean', 'snr15', 'snr5'] as const;
type Condition = (typeof CONDITIONS)[number];
const SNR: Record<Exclude<Condition, 'clean'>, number> = { snr15: 15, snr5: 5 };

const lastLine = (cmd: string, args: string[] = []) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    .toString()
    .trim()
    .split('\n')
    .at(-1) ?? '';

interface Passage {
  name: string;
  condition: Condition;
  file: string;
  seconds: number;
  turns: TimedTurn[];
}

/** The corpus, generated into the cache once: clean files, then their noisy copies. */
async function corpus(): Promise<Passage[]> {
  const text = fs.readFileSync(path.resolve(import.meta.dirname, '../quality/exchanges.txt'), 'utf8');
  const out: Passage[] = [];
  for (const [i, ex] of parseExchanges(text).slice(0, LIMIT).entries()) {
    const voice = CANDIDATE_VOICES[i % CANDIDATE_VOICES.length] ?? 'en-us';
    const speed = SPEEDS[Math.floor(i / CANDIDATE_VOICES.length) % SPEEDS.length] ?? 160;
    const base = path.join(CACHE, 'corpus', `${ex.name}.${voice}.${speed}wpm`);
    const truthFile = `${base}.turns.json`;
    if (!fs.existsSync(truthFile)) {
      progress(`synthesising ${ex.name} (${voice}, ${speed} wpm)`);
      fs.mkdirSync(path.dirname(base), { recursive: true });
      const turns = await synthesiseExchange(`${base}.clean.wav`, ex.turns, { candidate: voice, speed });
      for (const [c, snr] of Object.entries(SNR))
        await addNoise(`${base}.clean.wav`, `${base}.${c}.wav`, snr);
      fs.writeFileSync(truthFile, JSON.stringify(turns));
    }
    const turns: TimedTurn[] = JSON.parse(fs.readFileSync(truthFile, 'utf8'));
    for (const condition of CONDITIONS) {
      const file = `${base}.${condition}.wav`;
      const seconds = Number(execFileSync('soxi', ['-D', file]).toString());
      out.push({ name: path.basename(base), condition, file, seconds, turns });
    }
  }
  return out;
}

interface Result {
  /** Hypothesis text per file. */
  text: Map<string, string>;
  /** Wall time of the whole run, seconds (model loads included). */
  seconds: number;
  /** The stage's segments per file (only for the stage). */
  segments?: Map<string, Array<{ turn: string | null; start_ms: number; end_ms: number; text: string }>>;
  peakMiB?: number;
}

/** The stage's bundle over all files, in an embedded data dir of its own; reads back what it stored. */
async function stage(files: string[], model: string, beam: number, fallback: boolean): Promise<Result> {
  const home = fs.mkdtempSync(path.join(CACHE, 'home-'));
  try {
    const env = sharedEnv.parse({ PRONIELTS_DATA_DIR: path.join(home, '.pronielts') });
    let db = await openDb(dbConfigFrom(env));
    const store = createObjectStore(storageConfigFrom(env));
    await migrateToLatest(db);
    await store.ensureBuckets();
    const ids = new Map<string, string>();
    for (const f of files) ids.set(f, await seedReadyMedia(db, store, 'bench', fs.readFileSync(f), f));
    await db.destroy();
    const name = path.basename(model).replace(/^ggml-|\.bin$/g, '');
    const r = await timed('node', [CLI, '--run-id', 'bench'], {
      cwd: home,
      env: {
        PRONIELTS_DATA_DIR: path.join(home, '.pronielts'),
        WHISPER_CLI: lastLine(path.join(ROOT, 'scripts/build-whisper')),
        WHISPER_MODEL: name,
        WHISPER_MODEL_DIR: path.dirname(model),
        WHISPER_THREADS: String(THREADS),
        WHISPER_LANGUAGE: 'en',
        WHISPER_BEAM_SIZE: String(beam),
        WHISPER_NO_FALLBACK: String(!fallback),
        TRANSCRIBE_WORK_DIR: path.join(home, 'work'),
        LOG_LEVEL: 'warn',
      },
    });
    if (r.code !== 0) throw new Error(`the transcriber failed (exit ${r.code}): ${r.stdout.slice(-600)}`);
    db = await openDb(dbConfigFrom(env));
    const text = new Map<string, string>();
    const segments = new Map<
      string,
      Array<{ turn: string | null; start_ms: number; end_ms: number; text: string }>
    >();
    for (const [f, id] of ids) {
      const doc = await getJson(store, 'transcriptions', `${id}/${name}/transcript.json`, TranscriptDocument);
      text.set(f, doc.segments.map((s) => s.text).join(' '));
      const tr = await db
        .selectFrom('transcripts')
        .select('id')
        .where('media_id', '=', id)
        .executeTakeFirstOrThrow();
      segments.set(f, await listSegments(db, tr.id));
    }
    await db.destroy();
    return { text, seconds: r.ms / 1000, segments, peakMiB: r.peakMiB };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** Bare whisper-cli with the stage's arguments: a call per file, or one call for all of them. */
async function bare(
  files: string[],
  model: string,
  beam: number,
  oneCall: boolean,
  fallback: boolean,
): Promise<Result> {
  const cli = lastLine(path.join(ROOT, 'scripts/build-whisper'));
  const settings = {
    model,
    threads: THREADS,
    language: 'en',
    beamSize: beam,
    noFallback: !fallback,
  };
  let ms = 0;
  let peakMiB = 0;
  for (const batch of oneCall ? [files] : files.map((f) => [f])) {
    const r = await timed(cli, whisperArgs(settings, batch));
    if (r.code !== 0) throw new Error(`whisper-cli failed (exit ${r.code}): ${r.stderr.slice(-600)}`);
    ms += r.ms;
    peakMiB = Math.max(peakMiB, r.peakMiB);
  }
  const text = new Map<string, string>();
  for (const f of files) {
    const json = JSON.parse(fs.readFileSync(`${f}.json`, 'utf8')) as {
      transcription: Array<{ text: string }>;
    };
    text.set(f, json.transcription.map((s) => s.text).join(' '));
    fs.rmSync(`${f}.json`);
  }
  return { text, seconds: ms / 1000, peakMiB };
}

/** faster-whisper on the same weights (one Python process, the model loaded once). */
async function peer(
  files: string[],
  ct2: string,
  computeType: string,
  beam: number,
  fallback: boolean,
): Promise<Result> {
  const r = await timed(PY, [
    PEER,
    ct2,
    computeType,
    String(beam),
    String(THREADS),
    String(fallback),
    ...files,
  ]);
  if (r.code !== 0) throw new Error(`faster-whisper failed (exit ${r.code}): ${r.stderr.slice(-600)}`);
  const text = new Map<string, string>();
  for (const line of r.stdout.trim().split('\n')) {
    const o = JSON.parse(line) as { file?: string; text?: string };
    if (o.file) text.set(o.file, o.text ?? '');
  }
  return { text, seconds: r.ms / 1000, peakMiB: r.peakMiB };
}

/** Word errors over reference words, for the passages of one condition (or all). */
function wer(passages: Passage[], r: Result, condition?: Condition): number {
  let errors = 0;
  let words = 0;
  for (const p of passages) {
    if (condition && p.condition !== condition) continue;
    const ref = p.turns.map((t) => t.text).join(' ');
    const n = normalisedWords(ref).length;
    errors += wordErrorRate(ref, r.text.get(p.file) ?? '') * n;
    words += n;
  }
  return words ? errors / words : 0;
}

/**
 * The stage's segmentation against the script: the share of segments whose turn (question/answer) is
 * the scripted speaker's at the segment's midpoint, and the share of scripted turns whose start has a
 * segment starting within 0.6 s.
 */
function turnAccuracy(passages: Passage[], r: Result): { labels: number; starts: number; segments: number } {
  let right = 0;
  let segs = 0;
  let found = 0;
  let turns = 0;
  for (const p of passages) {
    const got = r.segments?.get(p.file) ?? [];
    for (const s of got) {
      const mid = (s.start_ms + s.end_ms) / 2000;
      const truth =
        p.turns.find((t) => mid >= t.startS && mid <= t.endS) ??
        p.turns.reduce((a, b) =>
          Math.abs((a.startS + a.endS) / 2 - mid) <= Math.abs((b.startS + b.endS) / 2 - mid) ? a : b,
        );
      segs++;
      if ((s.turn === 'question') === (truth.speaker === 'examiner')) right++;
    }
    for (const t of p.turns) {
      turns++;
      if (got.some((s) => Math.abs(s.start_ms / 1000 - t.startS) <= 0.6)) found++;
    }
  }
  return {
    labels: segs ? right / segs : 0,
    starts: turns ? found / turns : 0,
    segments: segs / Math.max(1, turns),
  };
}

export async function benchQuality(): Promise<void> {
  fs.mkdirSync(CACHE, { recursive: true });
  const passages = await corpus();
  const files = passages.map((p) => p.file);
  const audio = passages.reduce((a, p) => a + p.seconds, 0);
  const f16 = lastLine(path.join(ROOT, 'scripts/whisper-base-model'));
  const ct2 = lastLine(path.join(ROOT, 'scripts/whisper-base-model'), ['--ct2']);
  const q8 = path.join(CACHE, 'models', 'ggml-base-q8_0.bin');
  if (!fs.existsSync(q8)) {
    progress('quantising the base model to q8_0 (whisper-quantize)');
    fs.mkdirSync(path.dirname(q8), { recursive: true });
    const quantize = path.join(
      path.dirname(lastLine(path.join(ROOT, 'scripts/build-whisper'))),
      'whisper-quantize',
    );
    execFileSync(quantize, [f16, `${q8}.partial`, 'q8_0'], { stdio: ['ignore', 'ignore', 'inherit'] });
    fs.renameSync(`${q8}.partial`, q8);
  }
  console.log(
    `corpus: ${passages.length / CONDITIONS.length} passages × ${CONDITIONS.join(', ')} = ${files.length} files, ` +
      `${(audio / 60).toFixed(1)} min of audio; ${THREADS} threads, language en, temperature fallback ${process.env.BENCH_QUALITY_FALLBACK === '1' ? 'on (beam 5 rows)' : 'off'}`,
  );

  // Beam 5 without temperature fallback by default: one deterministic decode per file for every engine.
  // BENCH_QUALITY_FALLBACK=1 turns fallback on for the beam-5 rows, as both tools do by default (the
  // stage's WHISPER_NO_FALLBACK false; faster-whisper's temperature list). Greedy rows never fall back.
  const fb = process.env.BENCH_QUALITY_FALLBACK === '1';
  const runs: Array<{ what: string; run: () => Promise<Result>; stage?: boolean }> = [
    { what: 'pronielts-transcriber, base f16, beam 5', run: () => stage(files, f16, 5, fb), stage: true },
    {
      what: 'bare whisper-cli, base f16, beam 5, a call per file',
      run: () => bare(files, f16, 5, false, fb),
    },
    { what: 'bare whisper-cli, base f16, beam 5, one call', run: () => bare(files, f16, 5, true, fb) },
    { what: 'pronielts-transcriber, base q8_0, beam 5', run: () => stage(files, q8, 5, fb), stage: true },
    { what: 'faster-whisper int8, beam 5', run: () => peer(files, ct2, 'int8', 5, fb) },
    { what: 'faster-whisper float32, beam 5', run: () => peer(files, ct2, 'float32', 5, fb) },
    {
      what: 'pronielts-transcriber, base f16, greedy, no fallback',
      run: () => stage(files, f16, 1, false),
      stage: true,
    },
    { what: 'faster-whisper int8, greedy, no fallback', run: () => peer(files, ct2, 'int8', 1, false) },
  ];
  if (process.env.BENCH_QUALITY_ONLY === 'stage') runs.splice(1);
  const results: Array<{ what: string; r: Result; stage?: boolean }> = [];
  for (const [i, x] of runs.entries()) {
    progress(`${i + 1}/${runs.length} ${x.what}`);
    results.push({ what: x.what, r: await x.run(), ...(x.stage ? { stage: true } : {}) });
  }

  const peerInt8 = results.find((x) => x.what === 'faster-whisper int8, beam 5')?.r;
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  table('Word error rate (lower is better) and speed, same files', [
    ...results.map(({ what, r }) => ({
      what,
      'WER all': pct(wer(passages, r)),
      clean: pct(wer(passages, r, 'clean')),
      'SNR 15': pct(wer(passages, r, 'snr15')),
      'SNR 5': pct(wer(passages, r, 'snr5')),
      s: r.seconds,
      '× real time': audio / r.seconds,
      'time / fw int8': peerInt8 ? r.seconds / peerInt8.seconds : '',
      'peak MiB': Math.round(r.peakMiB ?? 0),
    })),
  ]);
  table('Question/answer segmentation of the stage against the script', [
    ...results
      .filter((x) => x.stage)
      .map(({ what, r }) => {
        const t = turnAccuracy(passages, r);
        return {
          what,
          'segments labelled right': pct(t.labels),
          'turn starts found (±0.6 s)': pct(t.starts),
          'segments per turn': t.segments,
        };
      }),
  ]);
  const stageF16 = results[0]?.r;
  if (process.env.BENCH_QUALITY_VERBOSE && stageF16) {
    // Each file's segments beside the script, to see where the segmentation and the words go wrong.
    for (const p of passages) {
      console.log(`\n### ${p.name} ${p.condition}`);
      for (const t of p.turns)
        console.log(`  script  ${t.startS.toFixed(1)}–${t.endS.toFixed(1)} ${t.speaker}: ${t.text}`);
      for (const s of stageF16.segments?.get(p.file) ?? []) {
        console.log(
          `  stage   ${(s.start_ms / 1000).toFixed(1)}–${(s.end_ms / 1000).toFixed(1)} ${s.turn}: ${s.text}`,
        );
      }
    }
  }
  if (stageF16 && peerInt8) {
    console.log(
      `\nWER stage − faster-whisper int8 (beam 5) = ${(100 * (wer(passages, stageF16) - wer(passages, peerInt8))).toFixed(1)} points (target: within 1); ` +
        `throughput gap: the stage takes ${(stageF16.seconds / peerInt8.seconds).toFixed(2)}× faster-whisper int8's time`,
    );
  }
}

if (import.meta.main) await benchQuality();
