// Transcriber benchmarks (run: pnpm --filter @pronielts/bench bench:transcribe), with the generated
// tiny whisper model and the whisper-cli of scripts/build-whisper:
//  1. one long file: the stage next to bare whisper-cli with the same arguments;
//  2. a batch of 20 short clips: the stage (a whisper-cli process per file, decision 0007) next to bare
//     per-file calls and a bare single multi-file call (the model loads once there, but a file's text
//     then depends on the files before it).
// The stage runs for real (PGlite + folder store), fed through the shared contracts like the ingestor would.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { speech } from '@pronielts/media-fixtures';
import { dbConfigFrom, sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { migrateToLatest, openDb } from '@pronielts/shared/db';
import { createObjectStore } from '@pronielts/shared/storage';
import { seedReadyMedia } from '@pronielts/shared/testing';
import { whisperArgs } from '@pronielts/transcriber/whisper';
import { writeTinyWhisperModel } from '@pronielts/whisper-fixtures';
import { median, progress, table, timed } from './util.ts';

const CACHE = path.resolve(import.meta.dirname, '../.cache/transcribe');
const CLI = path.resolve(import.meta.dirname, '../../packages/transcriber/dist/bundle/cli.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WHISPER_CLI =
  process.env.WHISPER_CLI ??
  execFileSync(path.resolve(import.meta.dirname, '../../scripts/build-whisper'))
    .toString()
    .trim()
    .split('\n')
    .at(-1) ??
  '';
const SETTINGS = { threads: 2, language: 'en', beamSize: 1, noFallback: true };

fs.mkdirSync(CACHE, { recursive: true });
const ffmpeg = (args: string[]) =>
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args]);

async function clips(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(CACHE, `clip-${i}.wav`);
    if (!fs.existsSync(f))
      await speech(
        f,
        `Question ${i}. What do you enjoy most about your studies? I enjoy the practical classes, number ${i}.`,
        { sampleRate: 16000 },
      );
    out.push(f);
  }
  return out;
}

async function longFile(minutes: number): Promise<string> {
  const f = path.join(CACHE, `long-${minutes}min.wav`);
  if (!fs.existsSync(f)) {
    progress(`generating ${minutes} min of speech`);
    const [clip] = await clips(1);
    ffmpeg([
      '-stream_loop',
      '-1',
      '-i',
      clip ?? '',
      '-t',
      String(minutes * 60),
      '-ar',
      '16000',
      '-ac',
      '1',
      '-c:a',
      'pcm_s16le',
      f,
    ]);
  }
  return f;
}

/** A fresh embedded data dir with these WAVs as ready media of run `bench`. */
async function seeded(files: string[]): Promise<string> {
  const home = fs.mkdtempSync(path.join(CACHE, 'home-'));
  const env = sharedEnv.parse({ PRONIELTS_DATA_DIR: path.join(home, '.pronielts') });
  const db = await openDb(dbConfigFrom(env));
  const store = createObjectStore(storageConfigFrom(env));
  await migrateToLatest(db);
  await store.ensureBuckets();
  for (const f of files) await seedReadyMedia(db, store, 'bench', fs.readFileSync(f), f);
  await db.destroy();
  return home;
}

async function stageRun(home: string, model: string) {
  const r = await timed('node', [CLI, '--run-id', 'bench'], {
    cwd: home,
    env: {
      PRONIELTS_DATA_DIR: path.join(home, '.pronielts'),
      WHISPER_CLI,
      WHISPER_MODEL: 'tiny-random',
      WHISPER_MODEL_DIR: path.dirname(model),
      WHISPER_THREADS: String(SETTINGS.threads),
      WHISPER_LANGUAGE: SETTINGS.language,
      WHISPER_BEAM_SIZE: String(SETTINGS.beamSize),
      WHISPER_NO_FALLBACK: 'true',
      TRANSCRIBE_WORK_DIR: path.join(home, 'work'),
      LOG_LEVEL: 'info',
    },
  });
  if (r.code !== 0) throw new Error(`stage failed: ${r.stdout.slice(-400)}`);
  return r;
}

const bare = (model: string, files: string[]) =>
  timed(WHISPER_CLI, whisperArgs({ model, ...SETTINGS }, files));

export async function benchTranscribe(): Promise<void> {
  const model = path.join(CACHE, 'models', 'ggml-tiny-random.bin');
  if (!fs.existsSync(model)) await writeTinyWhisperModel(model);

  // 1. one long file
  const long = await longFile(Number(process.env.BENCH_LONG_MINUTES ?? 30));
  const bareLong: number[] = [];
  const stageLong: number[] = [];
  const fixed: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    progress(`long file run ${i + 1}/${RUNS}`);
    bareLong.push((await bare(model, [long])).ms);
    const home = await seeded([long]);
    stageLong.push((await stageRun(home, model)).ms);
    fixed.push((await stageRun(home, model)).ms); // nothing left to do: the stage's fixed cost
    fs.rmSync(home, { recursive: true, force: true });
  }
  const b = median(bareLong);
  const s = median(stageLong);
  const f = median(fixed);
  table(`One ${process.env.BENCH_LONG_MINUTES ?? 30} min file (median of ${RUNS})`, [
    { what: 'bare whisper-cli', ms: b, ratio: 1 },
    { what: 'pronielts-transcriber (whole process)', ms: s, ratio: s / b },
    { what: '  of which fixed cost (node, embedded DB, checks)', ms: f },
    { what: '  transcription work (whole minus fixed)', ms: s - f, ratio: (s - f) / b },
  ]);
  console.log(
    `\nratio stage/bare = ${(s / b).toFixed(3)}; excluding the fixed start-up cost = ${((s - f) / b).toFixed(3)} (target <= 1.02)`,
  );

  // 2. a batch of 20 clips
  const batch = await clips(20);
  const perFile: number[] = [];
  const multi: number[] = [];
  const stageBatch: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    progress(`batch run ${i + 1}/${RUNS}`);
    let sum = 0;
    for (const c of batch) sum += (await bare(model, [c])).ms;
    perFile.push(sum);
    multi.push((await bare(model, batch)).ms);
    const home = await seeded(batch);
    stageBatch.push((await stageRun(home, model)).ms);
    fs.rmSync(home, { recursive: true, force: true });
  }
  const pf = median(perFile);
  table(`A batch of 20 short clips (median of ${RUNS})`, [
    { what: 'bare whisper-cli, one call per file', ms: pf, ratio: 1 },
    { what: 'bare whisper-cli, one call for all', ms: median(multi), ratio: median(multi) / pf },
    {
      what: 'pronielts-transcriber (a whisper-cli process per file)',
      ms: median(stageBatch),
      ratio: median(stageBatch) / pf,
    },
  ]);
  // The stage runs what the per-file calls run (decision 0007), plus its fixed start-up and its writes.
  console.log(
    `\nratio stage/per-file = ${(median(stageBatch) / pf).toFixed(3)}; above the per-file calls: ${((median(stageBatch) - pf) / batch.length).toFixed(0)} ms a clip`,
  );
}

if (import.meta.main) await benchTranscribe();
