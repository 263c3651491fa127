import path from 'node:path';
import { text } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { ReleaseManifest } from '@pronielts/shared/contracts';
import type { Db } from '@pronielts/shared/db';
import { createObjectStore, readManifest, verifyManifest } from '@pronielts/shared/storage';
import { openMigratedPostgres } from '@pronielts/shared/testing';
import { createTestDatabase, prng, s3Env, spawnStage } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { followUps, seedContent } from './fixtures.ts';

// Crash injection: the exporter is SIGKILLed at random points of an export, then run again; every time
// exactly one complete release must exist (the same one an uninterrupted export makes), never a
// half-visible one. The random kill delay is the thing under test, not a wait for a condition.

// The shipped entrypoint (the image's ENTRYPOINT, the runner's file), built before the integration tests.
const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const TRIALS = Number(process.env.CRASH_TRIALS ?? 20);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
const services = inject('services');
const s3 = services.s3[0];
if (!s3) throw new Error('no S3 server');

const WORDS = [
  'city river market school garden museum festival library train island bakery stadium forest harbour village',
  'theatre bridge castle beach valley mountain teacher doctor farmer artist student parent neighbour friend family',
  'colleague computer phone camera bicycle bus car plane ship road street park square tower church temple palace',
  'hospital office factory shop restaurant kitchen bedroom window door table chair book newspaper magazine letter',
  'song film game sport football tennis swimming running cooking reading writing painting music dance holiday',
  'weekend morning evening winter summer spring autumn weather rain snow sunshine wind storm ocean lake desert',
  'jungle animal dog cat horse bird fish flower tree vegetable fruit bread cheese coffee tea chocolate breakfast',
  'dinner lunch party wedding birthday gift money price job career company business science history language',
  'culture tradition technology internet website video photo memory dream plan goal problem solution idea story',
]
  .join(' ')
  .split(' ');

let db: Db;
let drop: () => Promise<void>;
let dbEnv: Record<string, string>;

beforeAll(async () => {
  const t = await createTestDatabase(services);
  drop = t.drop;
  db = await openMigratedPostgres(t.url, 2);
  dbEnv = { DATABASE_URL: t.url };
  // A released run the export merges with, and a run with ~1,200 distinct approved items, so an export
  // lasts long enough to be killed in its middle.
  const rand = prng(42);
  const pick = () => WORDS[Math.floor(rand() * WORDS.length)];
  for (const [runId, n] of [
    ['crash-base', 300],
    ['crash-run', 1200],
  ] as const) {
    await seedContent(db, runId, {
      segments: [],
      items: Array.from({ length: n }, (_, i) => ({
        name: `${runId}-fu-${i}`,
        ...followUps([
          `Why would a ${pick()} near the ${pick()} care about ${pick()} and ${pick()}?`,
          `How did the ${pick()} change the ${pick()} and the ${pick()} for a ${pick()}?`,
          `Should each ${pick()} with a ${pick()} share its ${pick()} with a ${pick()}?`,
        ]),
      })),
    });
    const v = spawnStage(CLI, ['validate', '--run-id', runId], { ...dbEnv, ...s3Env(s3) });
    expect(await v.exit).toBe(0);
  }
}, 180_000);

/** Approved items of `runId`. */
async function approvedOf(runId: string): Promise<number> {
  const r = await db
    .selectFrom('validations')
    .innerJoin('generated_items', 'generated_items.id', 'validations.item_id')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('generated_items.run_id', '=', runId)
    .where('validations.status', '=', 'approved')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Releases crash-base: the release every trial's export builds on. */
async function exportBase(env: Record<string, string>): Promise<void> {
  const p = spawnStage(CLI, ['export', '--run-id', 'crash-base'], env);
  expect(await p.exit).toBe(0);
}

afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

async function resetReleases(): Promise<void> {
  await db.deleteFrom('releases').execute();
}

async function releaseState(env: Record<string, string>) {
  const store = createObjectStore(storageConfigFrom(sharedEnv.parse(env)));
  await store.ensureBuckets(); // a process killed at once never got to create them
  const rows = await db.selectFrom('releases').selectAll().orderBy('seq').execute();
  const prefixes = new Set<string>();
  for await (const o of store.list('processed', 'releases/')) prefixes.add(o.key.split('/')[1] ?? '');
  const head = rows.filter((r) => r.status === 'complete').at(-1);
  const manifest = head
    ? await readManifest(store, 'processed', `releases/${head.id}`, ReleaseManifest)
    : null;
  let lines = 0;
  if (manifest)
    for (const f of manifest.files)
      lines += (await text(await store.get('processed', f.key))).split('\n').filter(Boolean).length;
  return {
    rows: rows.map((r) => [r.id, r.status, r.item_count]),
    prefixes: [...prefixes].sort(),
    manifestOk: manifest ? (await verifyManifest(store, 'processed', manifest)).length === 0 : false,
    lines,
  };
}

describe('exporter crash injection', () => {
  it(`leaves exactly one complete release on the previous one after a kill at a random point and a re-run (${TRIALS} trials, seed ${SEED})`, async () => {
    // Reference: the base release, then an uninterrupted export on it, and how long that takes.
    const refEnv = { ...dbEnv, ...s3Env(s3) };
    await exportBase(refEnv);
    const base = await releaseState(refEnv);
    const t0 = performance.now();
    const ref = spawnStage(CLI, ['export', '--run-id', 'crash-run'], refEnv);
    await ref.waitForLine((l) => l.msg === 'starting');
    const startedAt = performance.now() - t0;
    expect(await ref.exit).toBe(0);
    // Kill points are spread over the export's own work, after Node has started.
    const workMs = performance.now() - t0 - startedAt;
    const expected = await releaseState(refEnv);
    const items = (await approvedOf('crash-base')) + (await approvedOf('crash-run'));
    expect(items).toBeGreaterThan(1300);
    expect(expected.rows).toEqual([...base.rows, [expect.any(String), 'complete', items]]);
    expect(expected.manifestOk).toBe(true);
    expect(expected.lines).toBe(items);

    const rand = prng(SEED);
    const outcomes: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      await resetReleases();
      const env = { ...dbEnv, ...s3Env(s3) }; // fresh buckets: objects of other trials cannot help
      await exportBase(env);
      const delay = Math.floor(rand() * workMs * 1.1);
      const victim = spawnStage(CLI, ['export', '--run-id', 'crash-run'], env);
      await victim.waitForLine((l) => l.msg === 'starting');
      await Promise.race([sleep(delay), victim.exit]);
      victim.child.kill('SIGKILL');
      const code = await victim.exit;
      const afterKill = await releaseState(env);
      // Never a half-visible release: complete in the DB only together with a valid manifest.
      expect(afterKill.manifestOk).toBe(true);
      // 'publishing': killed after its row was recorded, before the release was complete (the re-run
      // writes it again).
      const mine = afterKill.rows.slice(base.rows.length);
      const phase =
        code === 0
          ? 'finished'
          : mine[0]?.[1] === 'complete'
            ? 'complete'
            : mine.length
              ? 'publishing'
              : 'nothing';
      outcomes.push(`${delay}ms:${phase}`);

      const rerun = spawnStage(CLI, ['export', '--run-id', 'crash-run'], env);
      expect(
        await rerun.exit,
        `trial ${trial} (kill at ${delay} ms): ${rerun.lines.slice(-2).join('\n')}`,
      ).toBe(0);
      const state = await releaseState(env);
      expect(state.rows, `trial ${trial}`).toEqual(expected.rows);
      expect(state.prefixes).toEqual(expected.prefixes);
      expect(state.manifestOk).toBe(true);
      expect(state.lines).toBe(items);
    }
    // The kills must have landed in different phases, not all before or all after the work.
    process.stderr.write(`crash trials (seed ${SEED}): ${outcomes.join(' ')}\n`);
    expect(new Set(outcomes.map((o) => o.split(':')[1])).size).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
