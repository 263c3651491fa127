// Export benchmark (run: pnpm --filter @pronielts/bench bench:export; needs scripts/services start).
// Exports 100k and 1M generated items and compares, in the same run, on the same PostgreSQL and S3
// server, with raw COPY of the same rows out of PostgreSQL into one object (rawCopy below).
// Prints throughput ratios and the exporter's peak RSS, which must stay flat as the size grows.
// Runs on two servers (BENCH_EXPORT_SERVERS): "durable", a PostgreSQL with the server's default
// durability as production runs it (`scripts/services durable-pg`), and "test", the test services'
// PostgreSQL (fsync, synchronous_commit and full_page_writes off).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { createObjectStore } from '@pronielts/shared/storage';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { median, progress, REPORTER, table, timed } from './util.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'packages/exporter/dist/bundle/cli.js');
const SIZES = (process.env.BENCH_EXPORT_SIZES ?? '100000,1000000').split(',').map(Number);

/** The admin URL of each PostgreSQL the benchmark runs on. */
function servers(vars: Record<string, string>): Array<{ name: string; admin: string }> {
  const names = (process.env.BENCH_EXPORT_SERVERS ?? 'durable,test').split(',');
  return names.map((name) => {
    if (name === 'test') return { name, admin: vars.PRONIELTS_TEST_PG_URL ?? '' };
    if (name === 'durable')
      return {
        name,
        admin: execFileSync(path.join(ROOT, 'scripts/services'), ['durable-pg']).toString().trim(),
      };
    throw new Error(`BENCH_EXPORT_SERVERS: unknown server ${JSON.stringify(name)} (durable, test)`);
  });
}

function services(): Record<string, string> {
  const file = `/tmp/pronielts-services-${process.getuid?.() ?? 0}/env`;
  if (!fs.existsSync(file)) throw new Error('start the test services first: scripts/services start');
  return Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^'|'$/g, '')]),
  );
}

const payload = (i: number) => ({
  topic: 'work',
  questions: [
    `Why might question ${i} matter to people at work today?`,
    `How could workplace ${i} change by 2040?`,
    `Should employers fund training ${i}?`,
  ],
});

/** A fresh database with `n` approved follow-up items in run `bench`, loaded with COPY. */
async function seed(admin: string, name: string, n: number): Promise<string> {
  execFileSync('psql', [
    admin,
    '-qc',
    `drop database if exists ${name} with (force)`,
    '-c',
    `create database ${name}`,
  ]);
  const url = admin.replace(/\/postgres$/, `/${name}`);
  execFileSync('node', [path.join(ROOT, 'packages/shared/dist/db/migrate-cli.js'), 'latest'], {
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' },
  });
  const rulesVersion = execFileSync('node', [
    '-e',
    `import('${path.join(ROOT, 'packages/exporter/dist/validate/validate.js')}').then(m => import('${path.join(ROOT, 'packages/exporter/dist/env.js')}').then(e => console.log(m.rulesVersion(m.ruleConfigFrom(e.env.parse({}))))))`,
  ])
    .toString()
    .trim();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`insert into pipeline_runs (id) values ('bench')`);
    const rows = function* () {
      for (let i = 0; i < n; i++) {
        const id = `gi_${createHash('sha256').update(String(i)).digest('hex').slice(0, 32)}`;
        yield `${id}\tbench\tfollow_up\twork\t${JSON.stringify(payload(i))}\tllama3.1:8b\tfollowup-v1\n`;
      }
    };
    await pipeline(
      Readable.from(rows()),
      c.query(
        copyFrom('copy generated_items (id, run_id, kind, topic, payload, model, prompt_version) from stdin'),
      ),
    );
    await c.query(
      `insert into validations (item_id, item_type, rules_version, status) select id, 'generated', $1, 'approved' from generated_items`,
      [rulesVersion],
    );
    await c.query('analyze');
  } finally {
    await c.end();
  }
  return url;
}

/**
 * (a) raw COPY: the rows a release file holds (the run's approved items, in item order), read with
 * `COPY (query) TO STDOUT` and streamed into one object on the same S3 server: the bare tools moving the
 * same data from PostgreSQL to the store, with no JSON lines, merge or manifest.
 */
async function rawCopy(url: string, env: Record<string, string>): Promise<number> {
  const store = createObjectStore(storageConfigFrom(sharedEnv.parse(env)));
  await store.ensureBuckets();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const t0 = performance.now();
    const rows = c.query(
      copyTo(`copy (select g.id, g.kind, g.run_id, g.topic, g.target_band, g.source_segment_id, g.model,
                          g.prompt_version, g.payload
                   from generated_items g
                   join validations v on v.item_id = g.id and v.status = 'approved'
                   where g.run_id = 'bench' order by g.id collate "C") to stdout`),
    );
    await store.put('processed', 'bench/raw-copy.tsv', rows, { contentType: 'text/tab-separated-values' });
    const ms = performance.now() - t0;
    await store.remove('processed', 'bench/raw-copy.tsv');
    return ms;
  } finally {
    await c.end();
  }
}

/** Removes what the export wrote to MinIO: gigabytes left behind keep MinIO's scanner busy for minutes. */
async function removeRelease(env: Record<string, string>): Promise<void> {
  const store = createObjectStore(storageConfigFrom(sharedEnv.parse(env)));
  for await (const o of store.list('processed', 'releases/')) await store.remove('processed', o.key);
}

/** Back to no release at all: the release rows deleted, the objects removed. */
async function resetReleases(url: string, env: Record<string, string>): Promise<void> {
  await removeRelease(env);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('delete from releases');
  } finally {
    await c.end();
  }
}

interface ExportRun {
  /** The whole stage process, Node start-up included. */
  processMs: number;
  /** The stage's own duration (its summary's durationMs): connect, export, publish. */
  stageMs: number;
  rssMiB: number;
  phases: string;
}

async function runExport(env: Record<string, string>, expect: string): Promise<ExportRun> {
  const exp = await timed('node', ['--import', REPORTER, CLI, 'export', '--run-id', 'bench'], {
    env: { ...env, LOG_LEVEL: 'info' },
  });
  if (exp.code !== 0) throw new Error(`export failed: ${exp.stdout.slice(-500)}`);
  const phases: string[] = [];
  let first: number | undefined;
  let stageMs = 0;
  let finished = '';
  for (const line of exp.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const l = JSON.parse(line) as Record<string, unknown> & { summary?: { durationMs?: number } };
    if (l.msg === 'progress') {
      first ??= Date.parse(String(l.time));
      const item = (l.progress as { item?: string }).item;
      if (item) phases.push(`${item} +${Date.parse(String(l.time)) - first} ms`);
    }
    if (l.msg === 'stage finished') stageMs = l.summary?.durationMs ?? 0;
    if (l.msg === 'release published' || String(l.msg).includes('already released')) finished = String(l.msg);
  }
  if (!finished.includes(expect)) throw new Error(`expected "${expect}", the export said "${finished}"`);
  return { processMs: exp.ms, stageMs, rssMiB: exp.nodePeakMiB ?? 0, phases: phases.join(', ') };
}

export async function benchExport(): Promise<void> {
  const vars = services();
  const trials = Number(process.env.BENCH_EXPORT_TRIALS ?? 3);
  const rows: Array<Record<string, string | number>> = [];
  const perSec = (n: number, ms: number) => n / (ms / 1000);
  for (const server of servers(vars)) {
    for (const n of SIZES) {
      progress(`${server.name}: seeding ${n} items`);
      const db = `pronielts_bench_export_${n}`;
      const url = await seed(server.admin, db, n);
      const env = {
        DATABASE_URL: url,
        MINIO_ENDPOINT: vars.PRONIELTS_TEST_MINIO_ENDPOINT ?? '',
        MINIO_ACCESS_KEY: vars.PRONIELTS_TEST_S3_ACCESS_KEY ?? '',
        MINIO_SECRET_KEY: vars.PRONIELTS_TEST_S3_SECRET_KEY ?? '',
        MINIO_BUCKET_PREFIX: `bexp${Date.now().toString(36)}-`,
        LOG_LEVEL: 'warn',
      };
      // Interleaved trials (export, COPY, export, COPY, …) so drift on a shared machine hits both alike;
      // the medians are compared.
      const exports: ExportRun[] = [];
      const copies: number[] = [];
      for (let t = 1; t <= trials; t++) {
        if (t > 1) await resetReleases(url, env);
        progress(`${server.name}: ${n} items, trial ${t}/${trials}: export`);
        const run = await runExport(env, 'release published');
        progress(
          `  ${(run.processMs / 1000).toFixed(2)} s (stage ${(run.stageMs / 1000).toFixed(2)} s): ${run.phases}`,
        );
        exports.push(run);
        progress(`${server.name}: ${n} items, trial ${t}/${trials}: raw COPY`);
        copies.push(await rawCopy(url, env));
        progress(`  ${((copies.at(-1) ?? 0) / 1000).toFixed(2)} s`);
      }
      progress(`${server.name}: ${n} items: the same export again (no change)`);
      const again = await runExport(env, 'already released');
      await removeRelease(env);
      const processMs = median(exports.map((e) => e.processMs));
      const stageMs = median(exports.map((e) => e.stageMs));
      const copyPerSec = perSec(n, median(copies));
      rows.push({
        server: server.name,
        items: n,
        'export s': processMs / 1000,
        'stage s': stageMs / 1000,
        'items/s': Math.round(perSec(n, processMs)),
        'COPY items/s': Math.round(copyPerSec),
        'vs COPY': perSec(n, processMs) / copyPerSec,
        'vs COPY (stage)': perSec(n, stageMs) / copyPerSec,
        'peak RSS MiB': Math.max(...exports.map((e) => e.rssMiB)),
        'no-change re-export s': again.processMs / 1000,
      });
      if (!process.env.BENCH_KEEP_DB)
        execFileSync('psql', [server.admin, '-qc', `drop database if exists ${db} with (force)`]);
    }
  }
  table(`Export vs raw COPY to the object store (medians of ${trials} interleaved trials)`, rows);
  console.log('\ntargets: >= 0.5x raw COPY throughput at 1M items, peak RSS flat as the size grows');
  console.log(
    "server: durable = PostgreSQL with its default durability (fsync, synchronous_commit, full_page_writes on), as production runs it; test = the test services' server (all three off).",
  );
  console.log(
    'export s = the whole stage process, Node start-up included; stage s = its own duration (summary durationMs).',
  );
  console.log(
    'An export: per kind, the previous release file merged with the run rows (cursor, id order) into a JSONL file in MinIO; manifest last; the no-change re-export reads and merges everything and writes nothing.',
  );
}

if (import.meta.main) await benchExport();
