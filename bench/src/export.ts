// Export benchmark (run: pnpm --filter @pronielts/bench bench:export; needs scripts/services start).
// Exports 100k and 1M generated items and compares, in the same run and on the same PostgreSQL:
//  (a) raw COPY of the same rows (id, kind, content) through pg from this process;
//  (b) a naive one-INSERT-per-row loop, on 10k rows.
// Prints throughput ratios and the exporter's peak RSS, which must stay flat as the size grows.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { createObjectStore } from '@pronielts/shared/storage';
import { progress, REPORTER, table, timed } from './util.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'packages/exporter/dist/cli.js');
const SIZES = (process.env.BENCH_EXPORT_SIZES ?? '100000,1000000').split(',').map(Number);
const NAIVE_ROWS = 10_000;

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
 * (a) the same rows through COPY from this process into a table of the same shape and key as the release
 * table, logged like it (a temporary table would skip the WAL the export has to write): the ceiling for
 * moving them into PostgreSQL.
 */
async function rawCopy(url: string, n: number): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      'drop table if exists bench_copy_target; create table bench_copy_target (item_id text, added_seq int, kind text, content_sha256 text, content jsonb, primary key (item_id, added_seq))',
    );
    const t0 = performance.now();
    const rows = function* () {
      for (let i = 0; i < n; i++) {
        const content = JSON.stringify({ id: i, kind: 'follow_up', ...payload(i) });
        yield `gi_${i}\t1\tfollow_up\t${createHash('sha256').update(content).digest('hex')}\t${content.replace(/\\/g, '\\\\')}\n`;
      }
    };
    await pipeline(Readable.from(rows()), c.query(copyFrom('copy bench_copy_target from stdin')));
    const ms = performance.now() - t0;
    await c.query('drop table bench_copy_target');
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

/** (b) one INSERT per row, as a naive exporter would. */
async function naiveInsert(url: string, n: number): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      'drop table if exists bench_naive_target; create table bench_naive_target (item_id text, added_seq int, kind text, content_sha256 text, content jsonb, primary key (item_id, added_seq))',
    );
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const content = JSON.stringify({ id: i, kind: 'follow_up', ...payload(i) });
      await c.query('insert into bench_naive_target values ($1, 1, $2, $3, $4)', [
        `gi_${i}`,
        'follow_up',
        createHash('sha256').update(content).digest('hex'),
        content,
      ]);
    }
    const ms = performance.now() - t0;
    await c.query('drop table bench_naive_target');
    return ms;
  } finally {
    await c.end();
  }
}

export async function benchExport(): Promise<void> {
  const vars = services();
  const admin = vars.PRONIELTS_TEST_PG_URL ?? '';
  const rows: Array<Record<string, string | number>> = [];
  let naivePerSec = 0;
  for (const n of SIZES) {
    progress(`seeding ${n} items`);
    const url = await seed(admin, `pronielts_bench_export_${n}`, n);
    progress(`exporting ${n} items`);
    const env = {
      DATABASE_URL: url,
      MINIO_ENDPOINT: vars.PRONIELTS_TEST_MINIO_ENDPOINT ?? '',
      MINIO_ACCESS_KEY: vars.PRONIELTS_TEST_S3_ACCESS_KEY ?? '',
      MINIO_SECRET_KEY: vars.PRONIELTS_TEST_S3_SECRET_KEY ?? '',
      MINIO_BUCKET_PREFIX: `bexp${Date.now().toString(36)}-`,
      LOG_LEVEL: 'warn',
    };
    const exp = await timed('node', ['--import', REPORTER, CLI, 'export', '--run-id', 'bench'], {
      env: { ...env, LOG_LEVEL: 'info' },
    });
    await removeRelease(env);
    if (exp.code !== 0) throw new Error(`export failed: ${exp.stdout.slice(-500)}`);
    for (const line of exp.stdout.split('\n')) {
      if (!line.includes('export progress')) continue;
      const l = JSON.parse(line) as Record<string, unknown>;
      progress(`  ${l.phase}: ${l.ms} ms (rss ${l.rss_mib} MiB, heap ${l.heap_mib} MiB)`);
    }
    progress(`raw COPY of ${n} rows`);
    const copyMs = await rawCopy(url, n);
    if (naivePerSec === 0) {
      progress(`naive INSERT loop, ${NAIVE_ROWS} rows`);
      naivePerSec = NAIVE_ROWS / ((await naiveInsert(url, NAIVE_ROWS)) / 1000);
    }
    const expPerSec = n / (exp.ms / 1000);
    const copyPerSec = n / (copyMs / 1000);
    rows.push({
      items: n,
      'export s': exp.ms / 1000,
      'export items/s': Math.round(expPerSec),
      'raw COPY items/s': Math.round(copyPerSec),
      'vs COPY': expPerSec / copyPerSec,
      'vs naive': expPerSec / naivePerSec,
      'peak RSS MiB': exp.nodePeakMiB ?? 0,
    });
    if (!process.env.BENCH_KEEP_DB)
      execFileSync('psql', [
        admin,
        '-qc',
        `drop database if exists pronielts_bench_export_${n} with (force)`,
      ]);
  }
  table(
    `Export vs raw COPY and a naive INSERT loop (naive: ${Math.round(naivePerSec)} rows/s on ${NAIVE_ROWS} rows)`,
    rows,
  );
  console.log('\ntargets: >= 0.8x raw COPY throughput, >= 20x naive, peak RSS flat as the size grows');
  console.log(
    'export = the whole stage process (start-up included): apply the run to the release chain, release row, JSONL streamed to MinIO, manifest',
  );
}

if (import.meta.main) await benchExport();
