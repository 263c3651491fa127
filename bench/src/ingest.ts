// Ingestor benchmarks (run: pnpm --filter @pronielts/bench bench:ingest):
//  1. normalisation: the project's ffmpeg adapter next to bare ffmpeg with the same arguments;
//  2. a whole ingest (hash, probe, normalise, publish, record) next to bare ffmpeg, for context;
//  3. peak memory of the ingestor process for a 50 MB and a 1 GB input: it must stay flat.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fluentFfmpegTool, NORMALIZE_OUTPUT_ARGS } from '@pronielts/ingestor/media';
import { speech } from '@pronielts/media-fixtures';
import { median, progress, REPORTER, table, timed } from './util.ts';

const CACHE = path.resolve(import.meta.dirname, '../.cache/ingest');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BUCKET_PREFIX = `bench${Date.now().toString(36)}-`;
const INGESTOR_CLI = path.resolve(import.meta.dirname, '../../packages/ingestor/dist/bundle/cli.js');
fs.mkdirSync(CACHE, { recursive: true });

function ffmpeg(args: string[]) {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args]);
}

/** A long speech recording: one espeak-ng answer looped, as 44.1 kHz stereo MP3 (a typical upload). */
async function longSpeech(minutes: number): Promise<string> {
  const out = path.join(CACHE, `speech-${minutes}min.mp3`);
  if (fs.existsSync(out)) return out;
  progress(`generating ${minutes} min of speech`);
  const clip = await speech(
    path.join(CACHE, 'clip.wav'),
    'In my free time I like to go hiking with my friends, especially in the mountains near my town, because the air is fresh and it helps me relax after a long week.',
  );
  ffmpeg([
    '-stream_loop',
    '-1',
    '-i',
    clip,
    '-t',
    String(minutes * 60),
    '-ar',
    '44100',
    '-ac',
    '2',
    '-b:a',
    '128k',
    out,
  ]);
  return out;
}

/** A WAV of about `mb` megabytes (48 kHz stereo s16: 192 kB/s), tone plus noise so it is not silent. */
function bigWav(mb: number): string {
  const out = path.join(CACHE, `input-${mb}MB.wav`);
  if (fs.existsSync(out)) return out;
  progress(`generating a ${mb} MB WAV`);
  const seconds = Math.floor((mb * 1024 * 1024) / 192_000);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=220:sample_rate=48000:duration=${seconds}`,
    '-ac',
    '2',
    '-c:a',
    'pcm_s16le',
    out,
  ]);
  return out;
}

/** Bare ffmpeg, spawned the same way the adapter spawns it (pipes, no shell), so only the adapter differs. */
function bareFfmpeg(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout.resume();
    c.stderr.resume();
    c.on('error', reject);
    c.on('close', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`ffmpeg exited ${code}`)),
    );
  });
}

async function normalisation(): Promise<void> {
  const input = await longSpeech(10);
  const tool = fluentFfmpegTool();
  const args = [
    '-nostdin',
    '-hide_banner',
    '-y',
    '-i',
    input,
    ...NORMALIZE_OUTPUT_ARGS,
    '-t',
    '10800',
    path.join(CACHE, 'bare.wav'),
  ];
  const ours = async () => {
    const t0 = performance.now();
    await tool.normalize(input, path.join(CACHE, 'ours.wav'), { maxDurationS: 10800 });
    return performance.now() - t0;
  };
  // Warm-up (page cache, fluent-ffmpeg's one-time capability checks), then alternate the order.
  await bareFfmpeg(args);
  await ours();
  const bare: number[] = [];
  const mine: number[] = [];
  for (let i = 0; i < RUNS * 2; i++) {
    progress(`normalisation run ${i + 1}/${RUNS * 2}`);
    if (i % 2 === 0) {
      bare.push(await bareFfmpeg(args));
      mine.push(await ours());
    } else {
      mine.push(await ours());
      bare.push(await bareFfmpeg(args));
    }
  }
  const b = median(bare);
  const o = median(mine);
  table(`Normalisation of 10 min MP3 → 16 kHz mono WAV (median of ${RUNS * 2}, alternating)`, [
    { what: 'bare ffmpeg (same arguments)', ms: b, ratio: 1 },
    { what: 'ingestor adapter (fluent-ffmpeg)', ms: o, ratio: o / b },
  ]);
  console.log(`\nratio ingestor/bare = ${(o / b).toFixed(3)} (target <= 1.05)`);

  // Context: everything the stage does for one item, on the embedded defaults.
  const home = fs.mkdtempSync(path.join(CACHE, 'home-'));
  const whole = await timed('node', [INGESTOR_CLI, '--run-id', 'bench', '--source', input], {
    cwd: home,
    env: {
      PRONIELTS_DATA_DIR: path.join(home, '.pronielts'),
      INGEST_DOWNLOAD_DIR: path.join(home, 'dl'),
      INGEST_LOCAL_ROOTS: CACHE,
    },
  });
  table('Whole ingest of the same file (hash, probe, normalise, publish, record; embedded PGlite + folder)', [
    { what: 'bare ffmpeg normalisation', ms: b },
    { what: 'pronielts-ingestor, one item', ms: whole.ms, ratio: whole.ms / b },
  ]);
  fs.rmSync(home, { recursive: true, force: true });
}

async function memory(): Promise<void> {
  const rows: Array<Record<string, string | number>> = [];
  for (const mb of [50, 1024]) {
    const input = bigWav(mb);
    const home = fs.mkdtempSync(path.join(CACHE, 'home-'));
    progress(`ingesting the ${mb} MB input`);
    const r = await timed(
      'node',
      ['--import', REPORTER, INGESTOR_CLI, '--run-id', `rss-${mb}`, '--source', input],
      {
        cwd: home,
        env: {
          PRONIELTS_DATA_DIR: path.join(home, '.pronielts'),
          INGEST_DOWNLOAD_DIR: path.join(home, 'dl'),
          INGEST_LOCAL_ROOTS: CACHE,
          ...servicesEnv(),
        },
      },
    );
    if (r.code !== 0) throw new Error(`ingest failed (${r.code}): ${r.stdout.slice(-500)}`);
    rows.push({
      input: `${mb} MB WAV`,
      seconds: r.ms / 1000,
      'node peak RSS MiB': r.nodePeakMiB ?? 0,
      'largest process MiB': r.peakMiB,
    });
    fs.rmSync(home, { recursive: true, force: true });
  }
  table(
    `Peak memory of the ingestor process (${servicesEnv().DATABASE_URL ? 'PostgreSQL + S3 server' : 'embedded PGlite + folder'})`,
    rows,
  );
  console.log(
    '\ntarget: node peak RSS < 200 MiB and flat from 50 MB to 1 GB ("largest process" includes ffmpeg)',
  );
}

/** Use the loopback test services when they run (PGlite's WASM heap would otherwise dominate the RSS). */
function servicesEnv(): Record<string, string> {
  const file = `/tmp/pronielts-services-${process.getuid?.() ?? 0}/env`;
  if (!fs.existsSync(file)) return {};
  const vars = Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^'|'$/g, '')]),
  );
  const db = String(vars.PRONIELTS_TEST_PG_URL ?? '');
  const s3 = String(vars.PRONIELTS_TEST_MINIO_ENDPOINT ?? '');
  if (!db || !s3) return {};
  return {
    DATABASE_URL: db.replace(/\/postgres$/, '/pronielts_bench'),
    MINIO_ENDPOINT: s3,
    MINIO_ACCESS_KEY: String(vars.PRONIELTS_TEST_S3_ACCESS_KEY),
    MINIO_SECRET_KEY: String(vars.PRONIELTS_TEST_S3_SECRET_KEY),
    // A fresh prefix per run: content already published would skip the upload and flatter the numbers.
    MINIO_BUCKET_PREFIX: BUCKET_PREFIX,
  };
}

export async function benchIngest(): Promise<void> {
  await normalisation();
  const env = servicesEnv();
  if (env.DATABASE_URL) {
    // A fresh, migrated database for the run.
    const admin = env.DATABASE_URL.replace(/\/pronielts_bench$/, '/postgres');
    execFileSync('psql', [
      admin,
      '-qc',
      'drop database if exists pronielts_bench with (force)',
      '-c',
      'create database pronielts_bench',
    ]);
    execFileSync(
      'node',
      [path.resolve(import.meta.dirname, '../../packages/shared/dist/db/migrate-cli.js'), 'latest'],
      {
        env: { ...process.env, DATABASE_URL: env.DATABASE_URL, LOG_LEVEL: 'warn' },
      },
    );
  }
  await memory();
}

if (import.meta.main) await benchIngest();
