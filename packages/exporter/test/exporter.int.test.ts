import path from 'node:path';
import { text } from 'node:stream/consumers';
import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { ReleaseLine, ReleaseManifest } from '@pronielts/shared/contracts';
import { type Db, migrateToLatest, openDb } from '@pronielts/shared/db';
import { createObjectStore, type ObjectStore, readManifest, verifyManifest } from '@pronielts/shared/storage';
import { openMigratedPostgres } from '@pronielts/shared/testing';
import { createTestDatabase, s3Env, spawnStage } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cueCard, followUps, GOOD, modelAnswer, SOURCE, seedContent } from './fixtures.ts';

// The shipped entrypoint (the image's ENTRYPOINT, the runner's file), built before the integration tests.
const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const services = inject('services');
const s3 = services.s3[0];
if (!s3) throw new Error('no S3 server');

let db: Db;
let drop: () => Promise<void>;
let env: Record<string, string>;
let store: ObjectStore;

beforeAll(async () => {
  const t = await createTestDatabase(services);
  drop = t.drop;
  db = await openMigratedPostgres(t.url, 3);
  env = { ...s3Env(s3), DATABASE_URL: t.url };
  store = createObjectStore(storageConfigFrom(sharedEnv.parse(env)));
  await store.ensureBuckets();
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

async function verdicts(names: Record<string, string>) {
  const rows = await db
    .selectFrom('validations')
    .selectAll()
    .where('item_id', 'in', Object.values(names))
    .execute();
  return Object.fromEntries(
    Object.entries(names).map(([name, id]) => {
      const v = rows.find((r) => r.item_id === id);
      return [name, v?.status === 'approved' ? 'approved' : (v?.reasons ?? []).map((r) => r.rule).join(',')];
    }),
  );
}

describe('validate', () => {
  it('approves good items and rejects each bad one with machine-readable reasons', async () => {
    const { itemIds } = await seedContent(db, 'v-1', {
      segments: [
        { text: 'I work as a nurse and I really enjoy helping people in my city.' },
        { text: 'Trabajo como enfermera en un hospital grande y me gusta mucho ayudar a la gente cada día.' },
        { text: 'You can always call me on +44 (0)20 7946 0958 if you need anything at all.' },
        // labels the words contradict: published, flagged needs_review
        {
          text: 'I live in a small flat near the city centre, and I love my hometown.',
          topic: 'art_culture',
        },
      ],
      items: [
        { name: 'good answer', ...modelAnswer(GOOD) },
        { name: 'copied answer', ...modelAnswer(SOURCE.replace('good', 'nice')) },
        {
          name: 'drifted answer',
          ...modelAnswer(
            'Football is the most popular sport in the world, and many countries build huge stadiums for their teams.',
          ),
        },
        { name: 'lower band answer', ...modelAnswer(`${GOOD} Honestly.`, 5, 7) },
        { name: 'good card', ...cueCard('Describe a quiet place where you like to spend time.') },
        {
          name: 'card naming a person',
          ...cueCard('Describe a time you met Sarah Jones at a conference in your city.'),
        },
        {
          name: 'questions',
          ...followUps([
            'Why do some jobs pay more than others?',
            'How will work change in the future?',
            'Should people stay in one job for life?',
          ]),
        },
        {
          name: 'profane questions',
          ...followUps([
            'Why is this shit job so badly paid today?',
            'How will work change in the future?',
            'Should people stay in one job for life?',
          ]),
        },
      ],
    });
    const p = spawnStage(CLI, ['validate', '--run-id', 'v-1'], env);
    expect(await p.exit, p.lines.slice(-3).join('\n')).toBe(0);
    expect(await verdicts(itemIds)).toEqual({
      'good answer': 'approved',
      'copied answer': 'paraphrase',
      'drifted answer': 'paraphrase',
      'lower band answer': 'band',
      'good card': 'approved',
      'card naming a person': 'pii',
      questions: 'approved',
      'profane questions': 'profanity',
    });
    const segs = await db
      .selectFrom('validations')
      .innerJoin('classifications', 'classifications.id', 'validations.item_id')
      .innerJoin('segments', 'segments.id', 'classifications.segment_id')
      .select(['segments.text', 'validations.status', 'validations.reasons'])
      .orderBy('segments.idx')
      .where('segments.text', 'in', [
        'I work as a nurse and I really enjoy helping people in my city.',
        'Trabajo como enfermera en un hospital grande y me gusta mucho ayudar a la gente cada día.',
        'You can always call me on +44 (0)20 7946 0958 if you need anything at all.',
        'I live in a small flat near the city centre, and I love my hometown.',
      ])
      .execute();
    expect(segs.map((s) => [s.status, s.reasons.map((r) => r.rule).join(',')])).toEqual([
      ['approved', ''],
      // (the labels' check fires too: "hospital" is a health word, the label says work)
      ['rejected', 'language,topic_words'],
      ['rejected', 'pii'],
      ['needs_review', 'topic_words'],
    ]);
    expect(p.summary()).toMatchObject({ needsReview: 1, reviews: { topic_words: 1 } });
    expect(p.summary().rejections).toMatchObject({
      paraphrase: 2,
      band: 1,
      pii: 2,
      profanity: 1,
      language: 1,
    });
  });

  it('rejects exact and near-duplicates of items approved in earlier runs, even when they differ by punctuation', async () => {
    const { itemIds } = await seedContent(db, 'v-2', {
      segments: [],
      items: [
        {
          name: 'same card, other punctuation',
          ...cueCard('DESCRIBE a quiet place -- where you like to spend time!'),
        },
        {
          name: 'near-duplicate card',
          ...cueCard('Describe a quiet place where you really like to spend your free time.'),
        },
        {
          name: 'new card',
          ...cueCard('Describe a skill you learned as a child and still use today.', 'childhood'),
        },
      ],
    });
    const p = spawnStage(CLI, ['validate', '--run-id', 'v-2'], env);
    expect(await p.exit).toBe(0);
    expect(await verdicts(itemIds)).toEqual({
      'same card, other punctuation': 'duplicate',
      'near-duplicate card': 'duplicate',
      'new card': 'approved',
    });
  });

  it('a re-run validates nothing again', async () => {
    const p = spawnStage(CLI, ['validate', '--run-id', 'v-1'], env);
    expect(await p.exit).toBe(0);
    expect(p.summary().counts).toMatchObject({ out: 0, rejected: 0, skipped: 12 });
  });
});

async function releaseFiles(id: string) {
  const manifest = await readManifest(store, 'processed', `releases/${id}`, ReleaseManifest);
  if (!manifest) return null;
  const lines: Record<string, number> = {};
  for (const f of manifest.files) {
    const rows = (await text(await store.get('processed', f.key))).split('\n').filter(Boolean);
    // Every line keeps the release line contract, and each file holds its own kind only.
    const kinds = new Set(rows.map((l) => ReleaseLine.parse(JSON.parse(l)).kind));
    expect(kinds.size).toBeLessThanOrEqual(1);
    lines[f.name] = rows.length;
  }
  return { manifest, lines, bad: await verifyManifest(store, 'processed', manifest) };
}

describe('export', () => {
  it('publishes approved items as a release: JSONL per kind and a checksummed manifest, and a DB release row', async () => {
    const p = spawnStage(CLI, ['export', '--run-id', 'v-1'], env);
    expect(await p.exit, p.lines.slice(-3).join('\n')).toBe(0);
    const id = String(p.summary().releaseId);
    expect(id).toMatch(/^rel_[a-f0-9]{32}$/);
    const files = await releaseFiles(id);
    expect(files?.bad).toEqual([]);
    expect(files?.lines).toEqual({
      'model_answers.jsonl': 1,
      'drills.jsonl': 0,
      'cue_cards.jsonl': 1,
      'follow_ups.jsonl': 1,
      'segments.jsonl': 2,
    });
    expect(files?.manifest.meta).toMatchObject({
      releaseId: id,
      counts: { model_answer: 1, cue_card: 1, follow_up: 1, segment: 2 },
      sourceRunIds: ['v-1'],
      models: ['llama3.1:8b'],
      validation: {
        byStatus: { approved: 4, needs_review: 1, rejected: 7 },
        byRule: {
          needs_review: { topic_words: 1 },
          rejected: { band: 1, language: 1, paraphrase: 2, pii: 2, profanity: 1, topic_words: 1 },
        },
      },
    });
    // the flagged segment is published with its flags; the approved one without
    const segments = (await text(await store.get('processed', `releases/${id}/segments.jsonl`)))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string; needs_review: boolean; review: Array<{ rule: string }> });
    expect(segments.map((l) => [l.needs_review, l.review.map((r) => r.rule)]).sort()).toEqual([
      [false, []],
      [true, ['topic_words']],
    ]);
    expect(files?.manifest.meta.promptVersions).toEqual(['classify-v1', 'seed-v1']);
    const row = await db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      status: 'complete',
      item_count: 5,
      manifest_key: `releases/${id}/manifest.json`,
    });
    expect(row.diff).toMatchObject({ previousReleaseId: null, added: 5, removed: 0, changed: 0 });
  });

  it('exporting the same run again gives the same release id and no new rows or objects', async () => {
    const before = { releases: await releaseRows(), objects: await keys() };
    const p = spawnStage(CLI, ['export', '--run-id', 'v-1'], env);
    expect(await p.exit).toBe(0);
    expect(p.summary().releaseId).toBe(before.releases[0]?.id);
    expect(await releaseRows()).toEqual(before.releases);
    expect(await keys()).toEqual(before.objects);
  });

  it('the next run’s release contains both runs and a diff against the previous release', async () => {
    const p = spawnStage(CLI, ['export', '--run-id', 'v-2'], env);
    expect(await p.exit).toBe(0);
    const id = String(p.summary().releaseId);
    const row = await db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      seq: 2,
      run_ids: ['v-1', 'v-2'],
      item_count: 6,
      run_counts: { 'v-1': 5, 'v-2': 1 },
    });
    expect(row.diff).toMatchObject({ added: 1, removed: 0, changed: 0 });
    expect((await releaseFiles(id))?.lines['cue_cards.jsonl']).toBe(2);
  });

  it('a dry run computes the release without writing it', async () => {
    const before = { releases: await releaseRows(), objects: await keys() };
    await db
      .updateTable('classifications')
      .set({ band: 8.5 })
      .where('id', '=', (await releasedSegment('v-1')).id)
      .execute();
    const p = spawnStage(CLI, ['export', '--run-id', 'v-1', '--release', 'false'], env);
    expect(await p.exit).toBe(0);
    expect(p.summary()).toMatchObject({ releaseId: null, wouldBe: expect.stringMatching(/^rel_/) });
    expect(p.summary().diff).toMatchObject({ added: 0, changed: 1, removed: 0 });
    expect(await releaseRows()).toEqual(before.releases);
    expect(await keys()).toEqual(before.objects);
  });

  it('a revised classification is a changed item and an item no longer approved is removed; older releases stay intact', async () => {
    const previous = await db
      .selectFrom('releases')
      .selectAll()
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    const dropped = await db
      .selectFrom('validations')
      .innerJoin('generated_items', 'generated_items.id', 'validations.item_id')
      .select('validations.item_id')
      .where('generated_items.run_id', '=', 'v-1')
      .where('generated_items.kind', '=', 'follow_up')
      .where('validations.status', '=', 'approved')
      .executeTakeFirstOrThrow();
    await db
      .updateTable('validations')
      .set({ status: 'rejected' })
      .where('item_id', '=', dropped.item_id)
      .execute();
    const segment = await releasedSegment('v-1');
    await db.updateTable('classifications').set({ band: 7 }).where('id', '=', segment.id).execute();

    const row = await exportRun('v-1');
    expect(row.id).not.toBe(previous.id);
    expect(row.diff).toEqual({ previousReleaseId: previous.id, added: 0, changed: 1, removed: 1 });
    expect(row.item_count).toBe(previous.item_count - 1);
    const files = await releaseFiles(row.id);
    expect(files?.bad).toEqual([]);
    expect(files?.lines['follow_ups.jsonl']).toBe(0);
    expect((await releasedSegment('v-1', row.id)).band).toBe(7);
    // The previous release is untouched: its files still match its manifest.
    expect((await releaseFiles(previous.id))?.bad).toEqual([]);
    expect((await releaseFiles(previous.id))?.lines['follow_ups.jsonl']).toBe(1);
    // Other runs' lines are carried over byte for byte.
    const v2Lines = async (id: string) =>
      (await text(await store.get('processed', `releases/${id}/cue_cards.jsonl`)))
        .split('\n')
        .filter((l) => l.includes('"run_id":"v-2"'));
    expect(await v2Lines(row.id)).toEqual(await v2Lines(previous.id));

    // Approved again, it comes back.
    await db
      .updateTable('validations')
      .set({ status: 'approved' })
      .where('item_id', '=', dropped.item_id)
      .execute();
    const back = await exportRun('v-1');
    expect(back.diff).toEqual({ previousReleaseId: row.id, added: 1, changed: 0, removed: 0 });
    expect(back.item_count).toBe(previous.item_count);
  });

  it('a killed export is finished by the next export of the same run, and removed by any other', async () => {
    const head = await db.selectFrom('releases').selectAll().orderBy('seq', 'desc').executeTakeFirstOrThrow();
    const segment = await releasedSegment('v-1');
    await db.updateTable('classifications').set({ band: 5.5 }).where('id', '=', segment.id).execute();
    // As an export of v-1 killed after its first file: a publishing row and one file, no manifest.
    const p = spawnStage(CLI, ['export', '--run-id', 'v-1'], env);
    expect(await p.exit).toBe(0);
    const done = await db
      .selectFrom('releases')
      .selectAll()
      .where('id', '=', String(p.summary().releaseId))
      .executeTakeFirstOrThrow();
    const files = await keys();
    await db
      .updateTable('releases')
      .set({ status: 'publishing', manifest_key: null })
      .where('id', '=', done.id)
      .execute();
    for (const k of files)
      if (k.startsWith(`releases/${done.id}/`) && !k.endsWith('model_answers.jsonl'))
        await store.remove('processed', k);

    const again = await exportRun('v-1');
    expect(again.id).toBe(done.id);
    expect(again.diff).toEqual(done.diff);
    expect((await releaseFiles(again.id))?.bad).toEqual([]);
    expect(await keys()).toEqual(files);

    // The same, then another run exports first: the unfinished release and its files go.
    await db.updateTable('releases').set({ status: 'publishing' }).where('id', '=', done.id).execute();
    await store.remove('processed', `releases/${done.id}/manifest.json`);
    const other = spawnStage(CLI, ['export', '--run-id', 'v-2'], env);
    expect(await other.exit).toBe(0);
    expect(other.summary().releaseId).toBe(head.id);
    expect(await db.selectFrom('releases').select('id').where('id', '=', done.id).execute()).toEqual([]);
    expect((await keys()).filter((k) => k.startsWith(`releases/${done.id}/`))).toEqual([]);
  });

  it('a run with nothing approved leaves the newest release as it is', async () => {
    const before = { releases: await releaseRows(), objects: await keys() };
    const p = spawnStage(CLI, ['export', '--run-id', 'v-empty'], env);
    expect(await p.exit).toBe(0);
    expect(p.summary().releaseId).toBe(before.releases.filter((r) => r.status === 'complete').at(-1)?.id);
    expect(
      p.json().some((l) => l.msg === 'the run has no approved items: the newest release stays as it is'),
    ).toBe(true);
    expect(await releaseRows()).toEqual(before.releases);
    expect(await keys()).toEqual(before.objects);
  });

  it('objects under releases/ that no release row names are removed', async () => {
    const orphan = `releases/rel_${'0'.repeat(32)}`;
    await store.put('processed', `${orphan}/follow_ups.jsonl`, Buffer.from('{"id":"x"}\n'));
    await store.put('processed', `${orphan}/drills.jsonl`, Buffer.from(''));
    const released = (await keys()).filter((k) => !k.startsWith(orphan));

    const p = spawnStage(CLI, ['export', '--run-id', 'v-2'], env);
    expect(await p.exit).toBe(0);
    expect(p.json().find((l) => l.msg === 'removed files no release names')).toMatchObject({ objects: 2 });
    expect(await keys()).toEqual(released);
  });
});

/** Exports `runId` (exit 0 expected) and returns the release row the summary names. */
async function exportRun(runId: string) {
  const p = spawnStage(CLI, ['export', '--run-id', runId], env);
  expect(await p.exit, p.lines.slice(-2).join('\n')).toBe(0);
  return db
    .selectFrom('releases')
    .selectAll()
    .where('id', '=', String(p.summary().releaseId))
    .executeTakeFirstOrThrow();
}

const releaseRows = () => db.selectFrom('releases').selectAll().orderBy('seq').execute();

/** A segment line of `runId` in release `id` (default: the newest). */
async function releasedSegment(runId: string, id?: string) {
  const release =
    id ?? (await db.selectFrom('releases').select('id').orderBy('seq', 'desc').executeTakeFirstOrThrow()).id;
  const lines = (await text(await store.get('processed', `releases/${release}/segments.jsonl`)))
    .trim()
    .split('\n');
  const segment = lines
    .map((l) => JSON.parse(l) as { id: string; run_id: string; band: number })
    .find((l) => l.run_id === runId);
  if (!segment) throw new Error(`release ${release} has no segment of ${runId}`);
  return segment;
}

async function keys(): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('processed', 'releases/')) out.push(o.key);
  return out.sort();
}

describe('validate and export on the embedded defaults (PGlite + folder)', () => {
  it('publishes a release into the local folder store', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const home = mkdtempSync(path.join(tmpdir(), 'export-embedded-'));
    const dataDir = path.join(home, '.pronielts');
    const local = await openDb({ kind: 'pglite', dataDir: path.join(dataDir, 'db') });
    await migrateToLatest(local);
    await seedContent(local, 'e-1', {
      segments: [{ text: 'I work as a nurse and I really enjoy helping people in my city.' }],
      items: [
        { name: 'good answer', ...modelAnswer(GOOD) },
        { name: 'card', ...cueCard('Describe a quiet place where you like to spend time.') },
      ],
    });
    await local.destroy();
    const env = { PRONIELTS_DATA_DIR: dataDir };
    expect(await spawnStage(CLI, ['validate', '--run-id', 'e-1'], env, { cwd: home }).exit).toBe(0);
    const p = spawnStage(CLI, ['export', '--run-id', 'e-1'], env, { cwd: home });
    expect(await p.exit, p.lines.slice(-2).join('\n')).toBe(0);
    const id = String(p.summary().releaseId);
    const dir = path.join(dataDir, 'objects', 'pronielts-processed', 'releases', id);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.meta.counts).toEqual({ model_answer: 1, cue_card: 1, segment: 1 });
    expect(readFileSync(path.join(dir, 'cue_cards.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    rmSync(home, { recursive: true, force: true });
  });
});

describe('the migrate phase (the DAG migrate task runs it in the exporter image)', () => {
  it('applies the migrations to a fresh database once; a second run is a no-op', async () => {
    const fresh = await createTestDatabase(services);
    try {
      const first = spawnStage(CLI, ['migrate', 'latest'], { DATABASE_URL: fresh.url });
      expect(await first.exit, first.lines.slice(-2).join('\n')).toBe(0);
      expect(first.json().filter((l) => l.msg === 'step').length).toBeGreaterThan(0);
      const second = spawnStage(CLI, ['migrate'], { DATABASE_URL: fresh.url });
      expect(await second.exit).toBe(0);
      expect(second.json().at(-1)).toMatchObject({ msg: 'nothing to do', applied: 0 });
    } finally {
      await fresh.drop();
    }
  });

  it('exits 2 on an unknown migrate command', async () => {
    expect(
      await spawnStage(CLI, ['migrate', 'sideways'], { DATABASE_URL: 'postgres://u@127.0.0.1:1/x' }).exit,
    ).toBe(2);
  });
});
