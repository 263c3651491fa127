import { Readable } from 'node:stream';
import type { ManifestFile } from '@pronielts/shared/contracts';
import { type Db, validationCounts } from '@pronielts/shared/db';
import { StageError } from '@pronielts/shared/errors';
import type { StageContext, StageResult } from '@pronielts/shared/stage';
import { type PublishFile, putFiles, putManifest, readManifest } from '@pronielts/shared/storage';
import { sql } from 'kysely';
import type { Env } from '../env.ts';
import { ruleConfigFrom, rulesVersion } from '../validate/config.ts';
import { CopyReader } from './copy-out.ts';
import { type CopyTextToLines, renderLine } from './lines.ts';
import {
  applyRunChange,
  completeRelease,
  headComposition,
  headRelease,
  insertPendingRelease,
  lockExports,
  nextComposition,
  nextReleaseRowsQuery,
  pendingReleases,
  type ReleaseRow,
  recordedComposition,
  releaseIdOf,
  releaseProvenance,
  releaseRowsQuery,
  releaseTransactionSettings,
  runChangesHead,
  summaryOf,
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

type Kind = keyof typeof RELEASE_FILES;

export const releasePrefix = (id: string) => `releases/${id}`;

type Ctx = StageContext<{ runId: string; release: boolean }, Env>;

/** Thrown inside the release transaction of a dry run to roll it back. */
class DryRun extends Error {
  readonly result: { id: string | null; items: number; change: Record<string, number> };
  constructor(result: DryRun['result']) {
    super('dry run');
    this.result = result;
  }
}

/** What the release transaction left behind. */
type Staged =
  | { created: false; row: ReleaseRow | undefined }
  | {
      created: true;
      row: ReleaseRow;
      /** The files, when they were written inside the transaction (PostgreSQL). */
      files?: ManifestFile[];
      provenance: { models: string[]; promptVersions: string[] };
    };

/**
 * Exports the run's approved items as the next release of the chain (release.repository.ts has the
 * model). A release is cumulative: the previous release with the run's change applied (its new and
 * revised items added, items it no longer approves retired), so the newest release is the whole reviewed
 * corpus. Everything below holds the export lock (one writer for the chain):
 *
 *   0. finish any release a crashed export left pending (row committed, manifest missing), and remove
 *      objects under `releases/` that no release row names (files of an export killed before its commit);
 *   1. one repeatable-read transaction: does the run change the head at all? If not, nothing is written
 *      and the summary names the release that holds it. Otherwise the release id is known (previous
 *      release, run, rules version), and while the change and the pending release row are written, the
 *      JSONL files are streamed from the same snapshot on a second connection into the object store;
 *      the transaction commits once both are done and the files' line counts equal the row's counts;
 *   2. manifest.json last (counts, sha256 per file, source runs, models, prompt versions);
 *   3. the release row becomes complete.
 * On the embedded database (one connection) the files are written after the commit, from the committed
 * release. A crash anywhere leaves at most a pending row and unpublished objects, which step 0 of the
 * next export finishes or removes. Readers see a release only when its manifest exists and its row is
 * complete.
 */
export async function exportRelease(ctx: Ctx): Promise<StageResult> {
  // Every query of the export runs on this one connection (the embedded database has only one) except
  // the file reader's, which has its own.
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
  const { log, env } = ctx;
  const version = rulesVersion(ruleConfigFrom(env));
  const lap = lapTimer(ctx);

  if (ctx.input.release) {
    for (const pending of await pendingReleases(conn)) {
      log.info(
        { release_id: pending.id, seq: pending.seq },
        'finishing a release a previous export left pending',
      );
      await finishRelease(ctx, conn, pending, version);
    }
    await removeUnknownReleaseObjects(ctx, conn);
  }

  let staged: Staged;
  try {
    staged = await conn
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx): Promise<Staged> => {
        await releaseTransactionSettings(tx);
        const head = await headRelease(tx);
        const run = {
          runId: ctx.runId,
          rulesVersion: version,
          runInHead: !!head?.run_ids.includes(ctx.runId),
        };
        const check = await runChangesHead(tx, run);
        lap('change checked', { changes: check.changes });
        if (!check.changes) {
          if (ctx.input.release) return { created: false, row: head };
          const zero = { added: 0, changed: 0, removed: 0 };
          throw new DryRun({ id: head?.id ?? null, items: head?.item_count ?? 0, change: zero });
        }
        const seq = (head?.seq ?? 0) + 1;
        const id = releaseIdOf(head?.id ?? null, ctx.runId, version);
        const files =
          ctx.input.release && env.DATABASE_URL
            ? writeFilesFromSnapshot(ctx, env.DATABASE_URL, await exportSnapshot(tx), id, version)
            : undefined;
        try {
          const { change, delta } = await applyRunChange(tx, { ...run, seq, generated: check.generated });
          lap('change applied', { ...change });
          // The new release's summary is the previous one's plus the change; a head without a usable
          // recorded composition (an older release) is grouped once from its items, now changed.
          const previous = recordedComposition(head);
          const composition = previous ? nextComposition(previous, delta) : await headComposition(tx);
          const summary = summaryOf(composition);
          if (!ctx.input.release) throw new DryRun({ id, items: summary.items, change: { ...change } });
          await insertPendingRelease(tx, {
            id,
            seq,
            previousId: head?.id ?? null,
            composition,
            diff: { previousReleaseId: head?.id ?? null, ...change },
          });
          lap('release row', { release_id: id, items: summary.items });
          const written = files ? await files.done : undefined;
          if (written) {
            lap('files written', { files: written.entries.length });
            assertSameCounts(id, summary.counts, written.lines);
          }
          const row = await headRelease(tx);
          if (!row) throw new StageError('internal', `release ${id} vanished inside its own transaction`);
          return { created: true, row, files: written?.entries, provenance: summary };
        } catch (err) {
          await files?.abort(err);
          throw err;
        }
      });
  } catch (err) {
    if (!(err instanceof DryRun)) throw err;
    log.info(
      { would_be: err.result.id, items: err.result.items, ...err.result.change },
      'dry run: release not written',
    );
    return {
      counts: { in: err.result.items, out: 0, rejected: 0, skipped: 0 },
      extra: {
        releaseId: null,
        manifestKey: null,
        rulesVersion: version,
        items: err.result.items,
        wouldBe: err.result.id,
      },
    };
  }

  const row = staged.row;
  if (!row) {
    log.info('the run has no approved items and no release exists yet: nothing to export');
    return {
      counts: { in: 0, out: 0, rejected: 0, skipped: 0 },
      extra: { releaseId: null, manifestKey: null, rulesVersion: version, items: 0 },
    };
  }
  const base = {
    releaseId: row.id,
    manifestKey: `${releasePrefix(row.id)}/manifest.json`,
    rulesVersion: version,
  };
  if (!staged.created) {
    // The head already holds the run's approved content (finished above if it was pending).
    log.info({ release_id: row.id, seq: row.seq }, 'the run is already released: nothing to do');
    return {
      counts: { in: row.item_count, out: 0, rejected: 0, skipped: row.item_count },
      extra: { ...base, items: row.item_count, diff: row.diff, releaseCounts: row.counts },
    };
  }
  if (staged.files) await completeWithManifest(ctx, conn, row, staged.files, staged.provenance, version);
  else await finishRelease(ctx, conn, row, version);
  lap('published');
  log.info({ release_id: row.id, items: row.item_count, diff: row.diff }, 'release published');
  return {
    counts: { in: row.item_count, out: row.item_count, rejected: 0, skipped: 0 },
    extra: { ...base, items: row.item_count, diff: row.diff, releaseCounts: row.counts, resumed: false },
  };
}

async function exportSnapshot(tx: Db): Promise<string> {
  const r = await sql<{ snapshot: string }>`select pg_export_snapshot() as snapshot`.execute(tx);
  const snapshot = r.rows[0]?.snapshot;
  if (!snapshot) throw new StageError('internal', 'PostgreSQL exported no snapshot');
  return snapshot;
}

/**
 * Step 1's files: every kind's lines of the release being written, read on a second connection from the
 * exporting transaction's snapshot (so they are exactly the head its change leaves, see
 * nextReleaseRowsQuery) and streamed into the object store, while that transaction writes the change.
 */
function writeFilesFromSnapshot(
  ctx: Ctx,
  databaseUrl: string,
  snapshot: string,
  id: string,
  version: string,
) {
  let current: CopyTextToLines | undefined;
  let aborted: unknown;
  const lines: Record<string, number> = {};
  const done = (async () => {
    const reader = await CopyReader.open(databaseUrl, ctx.db, { snapshot });
    try {
      const entries = await putFiles(
        ctx.store,
        'processed',
        releasePrefix(id),
        releaseFiles(ctx, (kind) => {
          if (aborted !== undefined) throw aborted;
          const stream = reader.lines(
            nextReleaseRowsQuery({ runId: ctx.runId, rulesVersion: version, kind }),
          );
          stream.once('end', () => {
            lines[kind] = stream.lines;
          });
          current = stream;
          return stream;
        }),
      );
      return { entries, lines };
    } finally {
      await reader.close();
    }
  })();
  // The transaction awaits `done` (or `abort`) before it ends; until then a failure is reported there.
  done.catch(() => undefined);
  return {
    done,
    /** Stops the upload in flight (the transaction failed) and waits for the reader to let go. */
    async abort(reason: unknown): Promise<void> {
      aborted = reason;
      current?.destroy(reason instanceof Error ? reason : new Error(String(reason)));
      await done.catch(() => undefined);
    },
  };
}

/** The files of a release, one per kind, opened when their turn comes. */
function releaseFiles(ctx: Ctx, open: (kind: Kind) => Readable): PublishFile[] {
  return Object.entries(RELEASE_FILES).map(([kind, name]) => ({
    name,
    contentType: 'application/x-ndjson',
    body: () => {
      ctx.signal.throwIfAborted();
      return open(kind as Kind);
    },
  }));
}

/** The counts per kind the release row records must be the files' line counts (kinds with none omitted). */
function assertSameCounts(id: string, row: Record<string, number>, files: Record<string, number>): void {
  const norm = (c: Record<string, number>) =>
    JSON.stringify(
      Object.entries(c)
        .filter(([, n]) => n > 0)
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  if (norm(row) !== norm(files))
    throw new StageError(
      'internal',
      `release ${id}: the files hold ${norm(files)} lines but the release has ${norm(row)} items; nothing was committed`,
    );
}

/**
 * Steps 2–3 for a committed release whose files may be missing (a pending row, or the embedded path):
 * the files from the committed release, the manifest, then the row complete.
 */
async function finishRelease(ctx: Ctx, conn: Db, row: ReleaseRow, version: string): Promise<void> {
  const { env, store } = ctx;
  const prefix = releasePrefix(row.id);
  if (await readManifest(store, 'processed', prefix))
    return completeRelease(conn, row.id, `${prefix}/manifest.json`);
  let reader: CopyReader | undefined;
  try {
    if (env.DATABASE_URL) reader = await CopyReader.open(env.DATABASE_URL, ctx.db);
    const entries = await putFiles(
      store,
      'processed',
      prefix,
      releaseFiles(ctx, (kind) =>
        reader
          ? reader.lines(releaseRowsQuery(row.seq, kind))
          : Readable.from(pagedLines(conn, row.seq, kind, env.EXPORT_PAGE_SIZE)),
      ),
    );
    const recorded = recordedComposition(row);
    const provenance = recorded ? summaryOf(recorded) : await releaseProvenance(conn, row.seq);
    await completeWithManifest(ctx, conn, row, entries, provenance, version);
  } finally {
    await reader?.close();
  }
}

async function completeWithManifest(
  ctx: Ctx,
  conn: Db,
  row: ReleaseRow,
  files: ManifestFile[],
  provenance: { models: string[]; promptVersions: string[] },
  version: string,
): Promise<void> {
  const prefix = releasePrefix(row.id);
  await putManifest(ctx.store, 'processed', prefix, 'release', files, {
    releaseId: row.id,
    seq: row.seq,
    counts: row.counts,
    sourceRunIds: row.run_ids,
    models: provenance.models,
    promptVersions: provenance.promptVersions,
    rulesVersion: version,
    validation: await validationCounts(conn, row.run_ids, version),
    diff: row.diff,
  });
  await completeRelease(conn, row.id, `${prefix}/manifest.json`);
}

/**
 * Objects under `releases/` that no release row names: files of an export killed before its commit. Run
 * under the export lock, when no other export can be between its files and its commit.
 */
async function removeUnknownReleaseObjects(ctx: Ctx, conn: Db): Promise<void> {
  const known = new Set((await conn.selectFrom('exports').select('id').execute()).map((r) => r.id));
  const unknown: string[] = [];
  for await (const o of ctx.store.list('processed', 'releases/')) {
    const id = o.key.split('/')[1] ?? '';
    if (!known.has(id)) unknown.push(o.key);
  }
  for (const key of unknown) await ctx.store.remove('processed', key);
  if (unknown.length > 0)
    ctx.log.info({ objects: unknown.length }, 'removed the files of an export that never committed');
}

/** The embedded database: one kind's lines in keyset pages. */
async function* pagedLines(db: Db, seq: number, kind: string, pageSize: number): AsyncGenerator<string> {
  let afterItemId = '';
  for (;;) {
    const page = (await releaseRowsQuery(seq, kind, { afterItemId, limit: pageSize }).execute(db)).rows;
    const last = page.at(-1);
    if (!last) return;
    yield `${page.map((r) => renderLine(r)).join('\n')}\n`;
    afterItemId = last.item_id;
  }
}

/** Phase timings and memory in the log (the benchmark prints them). */
function lapTimer(ctx: Ctx) {
  let start = performance.now();
  return (phase: string, extra: Record<string, unknown> = {}) => {
    const m = process.memoryUsage();
    const mib = (n: number) => Math.round(n / 1048576);
    ctx.log.info(
      {
        phase,
        ms: Math.round(performance.now() - start),
        rss_mib: mib(m.rss),
        heap_mib: mib(m.heapUsed),
        ...extra,
      },
      'export progress',
    );
    start = performance.now();
  };
}
