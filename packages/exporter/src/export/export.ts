import { Readable, Transform } from 'node:stream';
import type { ManifestFile } from '@pronielts/shared/contracts';
import type { Db } from '@pronielts/shared/db';
import { StageError } from '@pronielts/shared/errors';
import type { StageContext, StageResult } from '@pronielts/shared/stage';
import { type PublishFile, putDataFiles, putManifest, readManifest } from '@pronielts/shared/storage';
import type { Env } from '../env.ts';
import { ruleConfigFrom, rulesVersion } from '../validate/validate.ts';
import { copyLines } from './copy-out.ts';
import {
  applyRunChange,
  completeRelease,
  hasRunChange,
  headRelease,
  headSummary,
  insertPendingRelease,
  lockExports,
  nextReleaseLinesQuery,
  pendingReleases,
  type ReleaseRow,
  releaseIdFor,
  releaseLinesQuery,
  releaseProvenance,
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
const KINDS = Object.keys(RELEASE_FILES) as Kind[];

export const releasePrefix = (id: string) => `releases/${id}`;

type Ctx = StageContext<{ runId: string; release: boolean }, Env>;

/** Thrown inside the release transaction to roll it back: a dry run, or nothing to export. */
class Rollback extends Error {
  readonly result: { id: string | null; items: number; change: Record<string, number> };
  constructor(result: Rollback['result']) {
    super('rollback');
    this.result = result;
  }
}

interface Written {
  entries: ManifestFile[];
  lines: Record<string, number>;
}

/**
 * Exports the run's approved items as the next release of the chain (release.repository.ts has the
 * model). A release is cumulative: the previous release with the run's change applied (new and revised
 * items added, items the run no longer approves retired), so the newest release is the whole reviewed
 * corpus.
 *
 *   0. finish any release a crashed export left pending (rows committed, manifest missing);
 *   1. one transaction, under the export lock: apply the run's change to the head and write the release
 *      row (pending, with counts, diff and source runs). On PostgreSQL the JSONL files are streamed into
 *      the object store meanwhile, on other connections, from the committed head and the run's items; the
 *      transaction commits only when their line counts match the release it wrote. No change: nothing is
 *      written, and the summary names the release that already holds the run;
 *   2. manifest.json last (counts, sha256 per file, source runs, models, prompt versions);
 *   3. the row becomes complete.
 * A crash before the commit leaves only unpublished objects under the same release id (a re-run
 * overwrites them); after it, a pending row that the next export finishes. Readers see a release only
 * when its manifest exists and its row is complete.
 */
export async function exportRelease(ctx: Ctx): Promise<StageResult> {
  const { db, log, env } = ctx;
  const version = rulesVersion(ruleConfigFrom(env));
  const lap = lapTimer(ctx);

  if (ctx.input.release) {
    for (const pending of await pendingReleases(db)) {
      log.info(
        { release_id: pending.id, seq: pending.seq },
        'finishing a release a previous export left pending',
      );
      await publishRelease(ctx, pending, version);
    }
  }

  let staged: { row: ReleaseRow; written: Written | null };
  try {
    staged = await db.transaction().execute(async (tx) => {
      await lockExports(tx);
      const head = await headRelease(tx);
      const seq = (head?.seq ?? 0) + 1;
      const id = releaseIdFor(head?.id ?? null, ctx.runId, version);
      if (ctx.input.release && !(await hasRunChange(tx, { runId: ctx.runId, rulesVersion: version })))
        throw new Rollback({ id: null, items: 0, change: {} });
      // On PostgreSQL the files are written while the change is (another connection, committed data).
      const files =
        ctx.input.release && env.DATABASE_URL ? writeNextFiles(ctx, id, env.DATABASE_URL, version) : null;
      files?.catch(() => {}); // awaited below; a failure must not go unhandled while the change runs
      try {
        const change = await applyRunChange(tx, { runId: ctx.runId, rulesVersion: version, seq });
        lap('change applied', { ...change });
        const summary = await headSummary(tx);
        const items = Object.values(summary.counts).reduce((a, b) => a + b, 0);
        if (!ctx.input.release) throw new Rollback({ id, items, change: { ...change } });
        const row = {
          id,
          seq,
          previousId: head?.id ?? null,
          counts: summary.counts,
          runIds: summary.runIds,
          diff: { previousReleaseId: head?.id ?? null, ...change },
        };
        await insertPendingRelease(tx, row);
        lap('release row', { release_id: id, items });
        const written = files ? await files : null;
        if (written) {
          lap('files written', { release_id: id });
          for (const kind of KINDS) {
            if ((written.lines[kind] ?? 0) !== (summary.counts[kind] ?? 0))
              throw new StageError(
                'internal',
                `release ${id}: ${RELEASE_FILES[kind]} has ${written.lines[kind] ?? 0} lines but the release holds ${summary.counts[kind] ?? 0} ${kind} items`,
              );
          }
        }
        const created = await headRelease(tx);
        if (!created || created.id !== id) throw new Error(`release ${id} vanished`);
        return { row: created, written };
      } catch (err) {
        if (files) {
          // The transaction rolls back: stop the file writer and drop what it uploaded (best effort; a
          // re-run would overwrite the same keys anyway).
          await files.then(
            (w) => removeObjects(ctx, w.entries),
            () => {},
          );
        }
        throw err;
      }
    });
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
    if (!ctx.input.release) {
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
    const head = await headRelease(db);
    if (!head) {
      log.info('the run has no approved items and no release exists yet: nothing to export');
      return {
        counts: { in: 0, out: 0, rejected: 0, skipped: 0 },
        extra: { releaseId: null, manifestKey: null, rulesVersion: version, items: 0 },
      };
    }
    log.info({ release_id: head.id, seq: head.seq }, 'the run is already released: nothing to do');
    return {
      counts: { in: head.item_count, out: 0, rejected: 0, skipped: head.item_count },
      extra: {
        releaseId: head.id,
        manifestKey: `${releasePrefix(head.id)}/manifest.json`,
        rulesVersion: version,
        items: head.item_count,
        diff: head.diff,
        releaseCounts: head.counts,
      },
    };
  }

  const row = staged.row;
  await publishRelease(ctx, row, version, staged.written?.entries);
  lap('published');
  log.info({ release_id: row.id, items: row.item_count, diff: row.diff }, 'release published');
  return {
    counts: { in: row.item_count, out: row.item_count, rejected: 0, skipped: 0 },
    extra: {
      releaseId: row.id,
      manifestKey: `${releasePrefix(row.id)}/manifest.json`,
      rulesVersion: version,
      items: row.item_count,
      diff: row.diff,
      releaseCounts: row.counts,
      resumed: false,
    },
  };
}

/** The files of the release the transaction is writing, from committed data, with their line counts. */
async function writeNextFiles(ctx: Ctx, id: string, databaseUrl: string, version: string): Promise<Written> {
  const lines: Record<string, number> = {};
  const entries = await putDataFiles(
    ctx.store,
    'processed',
    releasePrefix(id),
    KINDS.map((kind) =>
      fileOf(kind, () => {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const query = nextReleaseLinesQuery({ runId: ctx.runId, rulesVersion: version, kind });
        return copyLines(databaseUrl, query, ctx.db).pipe(lineCounter(kind, lines));
      }),
    ),
  );
  return { entries, lines };
}

/** Steps 2–3 for a release row: files (unless already written), manifest last, then the row complete. */
async function publishRelease(
  ctx: Ctx,
  row: ReleaseRow,
  version: string,
  written?: ManifestFile[],
): Promise<void> {
  const { db, env, store } = ctx;
  const prefix = releasePrefix(row.id);
  if (!(await readManifest(store, 'processed', prefix))) {
    const entries =
      written ??
      (await putDataFiles(
        store,
        'processed',
        prefix,
        KINDS.map((kind) =>
          fileOf(kind, () => {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            return env.DATABASE_URL
              ? copyLines(env.DATABASE_URL, releaseLinesQuery(row.seq, kind), db)
              : Readable.from(pagedLines(db, row.seq, kind, env.EXPORT_PAGE_SIZE));
          }),
        ),
      ));
    const provenance = await releaseProvenance(db, row.seq);
    await putManifest(store, 'processed', prefix, 'release', entries, {
      releaseId: row.id,
      seq: row.seq,
      counts: row.counts,
      sourceRunIds: row.run_ids,
      models: provenance.models,
      promptVersions: provenance.promptVersions,
      rulesVersion: version,
      diff: row.diff,
    });
  }
  await completeRelease(db, row.id, `${prefix}/manifest.json`);
}

function fileOf(kind: Kind, body: () => Readable): PublishFile {
  return { name: RELEASE_FILES[kind], contentType: 'application/x-ndjson', body };
}

/** Counts the lines (newlines) that pass through into `into[kind]`. */
function lineCounter(kind: string, into: Record<string, number>): Transform {
  into[kind] = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      let n = 0;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
      into[kind] = (into[kind] ?? 0) + n;
      done(null, chunk);
    },
  });
}

async function removeObjects(ctx: Ctx, entries: ManifestFile[]): Promise<void> {
  for (const e of entries) await ctx.store.remove('processed', e.key).catch(() => {});
}

/** The embedded database: one kind's lines in keyset pages. */
async function* pagedLines(db: Db, seq: number, kind: string, pageSize: number): AsyncGenerator<string> {
  let afterItemId = '';
  for (;;) {
    const page = (await releaseLinesQuery(seq, kind, { afterItemId, limit: pageSize }).execute(db)).rows;
    const last = page.at(-1);
    if (!last) return;
    yield `${page.map((r) => r.line).join('\n')}\n`;
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
