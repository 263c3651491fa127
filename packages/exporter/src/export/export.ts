import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Db } from '@pronielts/shared/db';
import { StageError } from '@pronielts/shared/errors';
import { trackProgress } from '@pronielts/shared/log';
import type { StageContext, StageResult } from '@pronielts/shared/stage';
import { type PublishFile, putFiles, putManifest, readManifest } from '@pronielts/shared/storage';
import type { Env } from '../env.ts';
import { ruleConfigFrom, rulesVersion } from '../validate/config.ts';
import { validationCounts } from '../validate/validations.repository.ts';
import { mergeLines, Tally } from './lines.ts';
import {
  completeRelease,
  cursorRows,
  deleteRelease,
  headRelease,
  lockExports,
  type ReleaseRow,
  releaseIdOf,
  releaseIds,
  runLinesQuery,
  startRelease,
  unfinishedReleases,
  unlockExports,
} from './release.repository.ts';

/** Content kinds and their files in a release. */
export const RELEASE_FILES = {
  model_answer: 'model_answers.jsonl',
  drill: 'drills.jsonl',
  cue_card: 'cue_cards.jsonl',
  follow_up: 'follow_ups.jsonl',
  segment: 'segments.jsonl',
} as const;

export const releasePrefix = (id: string) => `releases/${id}`;

type Ctx = StageContext<{ runId: string; release: boolean }, Env>;

/**
 * Exports the run's approved items as the next release. A release is cumulative: the previous release's
 * files with the run's lines replaced by the run's approved items now (added, changed, removed), so the
 * newest release is the whole reviewed corpus, and its files are the only copy of it. Under the export
 * lock (one writer for the chain of releases):
 *
 *   1. the release id hashes the previous release, the run and the rules version; the release row is
 *      recorded as `publishing` (a killed export leaves it so; the next export of the same run on the
 *      same head writes the same release again, any other export removes it and its files);
 *   2. each kind's file is the previous release's file merged with the run's rows (one repeatable-read
 *      transaction, rows through a cursor: memory holds a batch, whatever the size of the release);
 *   3. no change against the previous release: the files and the row go, and the previous release is
 *      the run's; otherwise manifest.json last (counts, sha256 per file, source runs, provenance), then
 *      the row is `complete`.
 * Readers see a release when its manifest exists and its row is complete. `--release false` (dry run)
 * merges the same streams and writes nothing.
 */
export async function exportRelease(ctx: Ctx): Promise<StageResult> {
  // One connection: the embedded database has only one, and the lock is the session's.
  return ctx.db.connection().execute(async (conn) => {
    await lockExports(conn);
    try {
      return await exportLocked(ctx, conn);
    } finally {
      // A broken connection has already dropped the lock; its error must not hide the export's own.
      await unlockExports(conn).catch(() => undefined);
    }
  });
}

async function exportLocked(ctx: Ctx, conn: Db): Promise<StageResult> {
  const { log, runId } = ctx;
  const version = rulesVersion(ruleConfigFrom(ctx.env));
  const head = await headRelease(conn);
  const id = releaseIdOf(head?.id ?? null, runId, version);
  const prefix = releasePrefix(id);
  const base = { rulesVersion: version };
  const runIds = [...new Set([...(head?.run_ids ?? []), runId])].sort();

  if (ctx.input.release) {
    await removeUnfinished(ctx, conn, id);
    await startRelease(conn, {
      id,
      seq: (head?.seq ?? 0) + 1,
      previousId: head?.id ?? null,
      runIds,
      rulesVersion: version,
    });
  }
  const tally = new Tally();
  // One item per release file: each is the previous release's file merged with the run's rows.
  const progress = trackProgress(log, { planned: Object.keys(RELEASE_FILES).length });
  const files = await conn
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (tx) => {
      const open = (kind: string) => {
        const rows = cursorRows(tx, runLinesQuery({ runId, rulesVersion: version, kind }));
        const stream = Readable.from(mergeLines(kind, previousLines(ctx, head, kind), rows, runId, tally));
        stream.once('end', () =>
          progress.done(
            `${RELEASE_FILES[kind as keyof typeof RELEASE_FILES]} (${tally.counts[kind] ?? 0} items)`,
          ),
        );
        return stream;
      };
      if (!ctx.input.release) {
        for (const kind of Object.keys(RELEASE_FILES)) for await (const _ of open(kind));
        return [];
      }
      return putFiles(ctx.store, 'processed', prefix, releaseFiles(ctx, open));
    });
  const items = Object.values(tally.counts).reduce((a, b) => a + b, 0);
  const diff = {
    previousReleaseId: head?.id ?? null,
    added: tally.added,
    changed: tally.changed,
    removed: tally.removed,
  };

  if (!ctx.input.release) {
    log.info(
      { would_be: tally.changes ? id : (head?.id ?? null), items, ...diff },
      'dry run: release not written',
    );
    return {
      counts: { in: items, out: 0, rejected: 0, skipped: 0 },
      extra: {
        ...base,
        releaseId: null,
        manifestKey: null,
        items,
        wouldBe: tally.changes ? id : (head?.id ?? null),
        diff,
      },
    };
  }
  if (tally.changes === 0) {
    await removeRelease(ctx, conn, id);
    if (!head) {
      log.info('the run has no approved items and no release exists yet: nothing to export');
      return {
        counts: { in: 0, out: 0, rejected: 0, skipped: 0 },
        extra: { ...base, releaseId: null, manifestKey: null, items: 0 },
      };
    }
    log.info(
      { release_id: head.id, seq: head.seq },
      head.run_ids.includes(runId)
        ? 'the run is already released: nothing to do'
        : 'the run has no approved items: the newest release stays as it is',
    );
    return {
      counts: { in: head.item_count, out: 0, rejected: 0, skipped: head.item_count },
      extra: { ...base, ...releaseSummary(head) },
    };
  }

  await putManifest(ctx.store, 'processed', prefix, 'release', files, {
    releaseId: id,
    seq: (head?.seq ?? 0) + 1,
    counts: tally.counts,
    sourceRunIds: runIds,
    models: [...tally.models].sort(),
    promptVersions: [...tally.promptVersions].sort(),
    rulesVersion: version,
    validation: await validationCounts(conn, runIds, version),
    diff,
  });
  const row = await completeRelease(conn, id, {
    counts: tally.counts,
    runCounts: tally.runCounts,
    diff,
    manifestKey: `${prefix}/manifest.json`,
  });
  log.info({ release_id: id, items: row.item_count, diff }, 'release published');
  return {
    counts: { in: row.item_count, out: row.item_count, rejected: 0, skipped: 0 },
    extra: { ...base, ...releaseSummary(row) },
  };
}

function releaseSummary(row: ReleaseRow) {
  return {
    releaseId: row.id,
    manifestKey: row.manifest_key,
    items: row.item_count,
    diff: row.diff,
    releaseCounts: row.counts,
  };
}

/** The lines of one kind's file of the previous release (none for the first release). */
async function* previousLines(ctx: Ctx, head: ReleaseRow | undefined, kind: string): AsyncGenerator<string> {
  if (!head) return;
  const name = RELEASE_FILES[kind as keyof typeof RELEASE_FILES];
  const manifest = await readManifest(ctx.store, 'processed', releasePrefix(head.id));
  // The next release is made from this one's files: without them nothing can be published.
  if (!manifest)
    throw new StageError(
      'internal',
      `release ${head.id} is complete but its manifest is missing from the store`,
    );
  const file = manifest.files.find((f) => f.name === name);
  if (!file) return;
  yield* createInterface({ input: await ctx.store.get('processed', file.key), crlfDelay: Infinity });
}

/** The files of a release, one per kind, each opened when its turn comes. */
function releaseFiles(ctx: Ctx, open: (kind: string) => Readable): PublishFile[] {
  return Object.entries(RELEASE_FILES).map(([kind, name]) => ({
    name,
    contentType: 'application/x-ndjson',
    body: () => {
      ctx.signal.throwIfAborted();
      return open(kind);
    },
  }));
}

/**
 * Releases a killed export left unfinished (other than `keepId`, which this export writes again) and
 * objects under `releases/` that no release row names: removed, files first.
 */
async function removeUnfinished(ctx: Ctx, conn: Db, keepId: string): Promise<void> {
  for (const id of await unfinishedReleases(conn, keepId)) {
    ctx.log.info({ release_id: id }, 'removing a release an earlier export left unfinished');
    await removeRelease(ctx, conn, id);
  }
  const known = await releaseIds(conn);
  let removed = 0;
  for await (const o of ctx.store.list('processed', 'releases/')) {
    if (known.has(o.key.split('/')[1] ?? '')) continue;
    await ctx.store.remove('processed', o.key);
    removed++;
  }
  if (removed > 0) ctx.log.info({ objects: removed }, 'removed files no release names');
}

/** Removes a release that was never completed: its files, then its row. */
async function removeRelease(ctx: Ctx, conn: Db, id: string): Promise<void> {
  const keys: string[] = [];
  for await (const o of ctx.store.list('processed', `${releasePrefix(id)}/`)) keys.push(o.key);
  // The manifest first: a reader never sees a manifest whose files are gone.
  keys.sort((a, b) => Number(b.endsWith('/manifest.json')) - Number(a.endsWith('/manifest.json')));
  for (const key of keys) await ctx.store.remove('processed', key);
  await deleteRelease(conn, id);
}
