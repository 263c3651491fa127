import { Readable } from 'node:stream';
import type { Db } from '@pronielts/shared/db';
import type { StageContext, StageResult } from '@pronielts/shared/stage';
import { type PublishFile, publish, readManifest } from '@pronielts/shared/storage';
import type { Env } from '../env.ts';
import { ruleConfigFrom, rulesVersion } from '../validate/validate.ts';
import { copyLines } from './copy-out.ts';
import {
  applyRunChange,
  completeRelease,
  headRelease,
  headSummary,
  insertPendingRelease,
  pendingReleases,
  type ReleaseRow,
  releaseIdOf,
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

/**
 * Exports the run's approved items as the next release of the chain (release-items.ts has the model).
 * A release is cumulative: the previous release with the run's change applied (its new and revised
 * items added, items it no longer approves retired), so the newest release is the whole reviewed corpus.
 *
 *   0. finish any release a crashed export left pending (rows committed, manifest missing);
 *   1. one transaction, under the export lock: apply the run's change to the head, the release row
 *      (pending, with counts, diff and source runs). An empty change writes nothing: the run's content is
 *      already released, and the summary names the release that holds it;
 *   2. JSONL per kind streamed from the database into the object store, then manifest.json last (counts,
 *      sha256 per file, source runs, models, prompt versions);
 *   3. mark the release complete.
 * A crash anywhere leaves at most a pending row and unpublished objects; the next export finishes it.
 * Readers see a release only when its manifest exists and its row is complete.
 */
export async function exportRelease(ctx: Ctx): Promise<StageResult> {
  const { db, log, env } = ctx;
  const version = rulesVersion(ruleConfigFrom(env));
  const lap = lapTimer(ctx);

  for (const pending of await pendingReleases(db)) {
    if (!ctx.input.release) break;
    log.info(
      { release_id: pending.id, seq: pending.seq },
      'finishing a release a previous export left pending',
    );
    await publishRelease(ctx, pending, version);
  }

  let staged: { row: ReleaseRow | undefined; created: boolean; items: number };
  try {
    staged = await db.transaction().execute(async (tx) => {
      const head = await headRelease(tx);
      const seq = (head?.seq ?? 0) + 1;
      const change = await applyRunChange(tx, { runId: ctx.runId, rulesVersion: version, seq });
      lap('change applied', { added: change.added, changed: change.changed, removed: change.removed });
      const empty = change.added + change.changed + change.removed === 0;
      if (empty && ctx.input.release) return { row: head, created: false, items: head?.item_count ?? 0 };
      const id = empty ? (head?.id ?? null) : releaseIdOf(head?.id ?? null, change);
      const summary = await headSummary(tx);
      const items = Object.values(summary.counts).reduce((a, b) => a + b, 0);
      if (!ctx.input.release || id === null) {
        throw new DryRun({
          id,
          items,
          change: { added: change.added, changed: change.changed, removed: change.removed },
        });
      }
      await insertPendingRelease(tx, {
        id,
        seq,
        previousId: head?.id ?? null,
        counts: summary.counts,
        runIds: summary.runIds,
        diff: {
          previousReleaseId: head?.id ?? null,
          added: change.added,
          removed: change.removed,
          changed: change.changed,
        },
      });
      lap('release row', { release_id: id, items });
      return { row: await headRelease(tx), created: true, items };
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
    // The change was empty: the head already holds the run's approved content (finished above if pending).
    log.info({ release_id: row.id, seq: row.seq }, 'the run is already released: nothing to do');
    return {
      counts: { in: row.item_count, out: 0, rejected: 0, skipped: row.item_count },
      extra: { ...base, items: row.item_count, diff: row.diff, releaseCounts: row.counts },
    };
  }
  await publishRelease(ctx, row, version);
  lap('published');
  log.info({ release_id: row.id, items: row.item_count, diff: row.diff }, 'release published');
  return {
    counts: { in: row.item_count, out: row.item_count, rejected: 0, skipped: 0 },
    extra: { ...base, items: row.item_count, diff: row.diff, releaseCounts: row.counts, resumed: false },
  };
}

/** Steps 2–3 for a pending release row: files, manifest last, then the row complete. */
async function publishRelease(ctx: Ctx, row: ReleaseRow, version: string): Promise<void> {
  const { db, env, store } = ctx;
  const prefix = releasePrefix(row.id);
  const manifestKey = `${prefix}/manifest.json`;
  if (!(await readManifest(store, 'processed', prefix))) {
    const files: PublishFile[] = Object.entries(RELEASE_FILES).map(([kind, name]) => ({
      name,
      contentType: 'application/x-ndjson',
      body: () => {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        return env.DATABASE_URL
          ? copyLines(env.DATABASE_URL, releaseLinesQuery(row.seq, kind), db)
          : Readable.from(pagedLines(db, row.seq, kind, env.EXPORT_PAGE_SIZE));
      },
    }));
    const provenance = await releaseProvenance(db, row.seq);
    await publish(store, 'processed', prefix, 'release', files, {
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
  await completeRelease(db, row.id, manifestKey);
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
