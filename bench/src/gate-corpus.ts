// Makes the quality gate's corpus of real small-model output (run: pnpm --filter @pronielts/bench
// gate:corpus). It synthesises exchanges of bench/quality/exchanges.txt with espeak-ng, runs the whole
// pipeline on them the way README command one does (the runner's bundle, embedded PGlite and folder
// store, the real whisper base model, the embedded Ollama serving Gemma 3 270M), and adds every item
// the gate judges, exactly as the gate's query returns it, to
// packages/exporter/test/fixtures/gate-corpus.jsonl (beside the items of earlier runs). The labels
// (gate-corpus.labels.json beside it) are written by hand, by the rules' intent; this script never
// touches them, and lists the items that have none. GATE_CORPUS_EXCHANGES (default 4) sets how many
// exchanges, counted from the end of the file so they differ from the first ones bench/quality starts
// with. `--dump` skips the synthesis and the pipeline and adds the last run's items again (a run stopped
// part-way keeps what it stored: every classification and generated item is committed as it is made).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { listItemsToValidate } from '@pronielts/exporter';
import { parseExchanges, synthesiseExchange } from '@pronielts/media-fixtures';
import { dbConfigFrom, sharedEnv } from '@pronielts/shared/config';
import { openDb } from '@pronielts/shared/db';
import { progress } from './util.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CACHE = path.resolve(import.meta.dirname, '../.cache/gate-corpus');
const RUNNER = path.join(ROOT, 'packages/pipeline/dist/cli.js');
const FIXTURES = path.join(ROOT, 'packages/exporter/test/fixtures');
const COUNT = Number(process.env.GATE_CORPUS_EXCHANGES ?? 4);
const VOICES = ['en-us', 'en-gb-scotland', 'en-029', 'en-gb-x-rp'];

export async function makeGateCorpus(dumpOnly = false): Promise<void> {
  const home = path.join(CACHE, 'home');
  const env: NodeJS.ProcessEnv = { ...process.env, PRONIELTS_DATA_DIR: path.join(home, '.pronielts') };
  if (!dumpOnly) await runPipeline(home, env);
  await dump(env.PRONIELTS_DATA_DIR ?? '');
}

async function runPipeline(home: string, env: NodeJS.ProcessEnv): Promise<void> {
  const text = fs.readFileSync(path.resolve(import.meta.dirname, '../quality/exchanges.txt'), 'utf8');
  const exchanges = parseExchanges(text).slice(-COUNT);
  fs.rmSync(CACHE, { recursive: true, force: true });
  fs.mkdirSync(CACHE, { recursive: true });
  const files: string[] = [];
  for (const [i, ex] of exchanges.entries()) {
    const wav = path.join(CACHE, `${ex.name}.wav`);
    progress(`synthesising ${ex.name}`);
    await synthesiseExchange(wav, ex.turns, { candidate: VOICES[i % VOICES.length] ?? 'en-us' });
    // the ingestor takes media as a user would hand it over: a compressed file
    const ogg = wav.replace(/\.wav$/, '.ogg');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', wav, '-c:a', 'libopus', '-b:a', '32k', ogg]);
    files.push(ogg);
  }

  fs.mkdirSync(home);
  // the embedded Ollama serves the small model only when no Ollama is configured
  delete env.OLLAMA_HOST;
  progress(`running the pipeline on ${files.length} exchanges (embedded Ollama, the small model)`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('node', [RUNNER, 'run', ...files], { cwd: home, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`the pipeline exited ${code} (what it stored: --dump writes it out)`);
}

async function dump(dataDir: string): Promise<void> {
  const db = await openDb(dbConfigFrom(sharedEnv.parse({ PRONIELTS_DATA_DIR: dataDir })));
  try {
    const run = await db.selectFrom('pipeline_runs').select('id').executeTakeFirstOrThrow();
    const llm = await db
      .selectFrom('classifications')
      .select('model')
      .where('status', '=', 'ok')
      .executeTakeFirst();
    // A rules version no validation has: the gate's query then returns every item of the run.
    const rows = await listItemsToValidate(db, run.id, 'gate-corpus', '', 100_000);
    fs.mkdirSync(FIXTURES, { recursive: true });
    const out = path.join(FIXTURES, 'gate-corpus.jsonl');
    // The corpus accumulates runs: this run's items are added to (or replace) the ones already there.
    const kept = fs.existsSync(out)
      ? fs
          .readFileSync(out, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as (typeof rows)[number])
      : [];
    const all = new Map([...kept, ...rows].map((r) => [r.id, r]));
    const sorted = [...all.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    fs.writeFileSync(out, `${sorted.map((r) => JSON.stringify(r)).join('\n')}\n`);
    console.log(
      `wrote ${rows.length} items (${tally(rows.map((r) => r.kind))}) from ${llm?.model ?? 'the LLM'} to ${path.relative(ROOT, out)}, ${sorted.length} in all`,
    );
    const labelsFile = path.join(FIXTURES, 'gate-corpus.labels.json');
    const labels = fs.existsSync(labelsFile) ? JSON.parse(fs.readFileSync(labelsFile, 'utf8')) : {};
    const missing = rows.filter((r) => !(r.id in labels));
    if (missing.length > 0)
      console.log(`${missing.length} items have no label yet in ${path.relative(ROOT, labelsFile)}`);
  } finally {
    await db.destroy();
  }
}

function tally(xs: string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, n]) => `${n} ${k}`).join(', ');
}

if (import.meta.main) await makeGateCorpus(process.argv.includes('--dump'));
