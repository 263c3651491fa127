import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { StageContext, StageResult } from '@pronielts/shared/stage';
import { publish, readManifest } from '@pronielts/shared/storage';
import { sql } from 'kysely';
import type { Env } from '../env.ts';
import { ruleConfigFrom, rulesVersion } from '../validate/validate.ts';
import { copyReleaseFile } from './copy-out.ts';
import {
  completeRelease,
  findRelease,
  insertPendingRelease,
  latestCompleteRelease,
  releaseContentPage,
  releaseIdOfStage,
  releaseProvenance,
  stageRelease,
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

/**
 * Exports the run's approved items as a release. A release is cumulative: the run's approved items plus
 * every item of the previous release that came from other runs, so the newest release is the whole
 * reviewed corpus. Its id is a hash of its (item, content) pairs: exporting the same run twice gives the
 * same id and does nothing the second time.
 *
 *   1. stage membership and content in the DB (content rows are content-addressed);
 *   2. one transaction: the release row (pending) and all its export_items;
 *   3. JSONL per kind, then manifest.json last (counts, sha256 per file, runs, models, prompt versions);
 *   4. mark the release complete.
 * A crash anywhere leaves at most a pending row and unpublished objects; the re-run resumes from 3.
 * Readers see a release only when its manifest exists and its row is complete.
 */
export async function exportRelease(
  ctx: StageContext<{ runId: string; release: boolean }, Env>,
): Promise<StageResult> {
  const { db, log, env, store } = ctx;
  const version = rulesVersion(ruleConfigFrom(env));
  const previous = await latestCompleteRelease(db);

  // 1–2 on one pinned connection: the stage table is a temporary table of that connection.
  const t = { start: performance.now() };
  const lap = (phase: string, extra: Record<string, unknown> = {}) => {
    const m = process.memoryUsage();
    const mib = (n: number) => Math.round(n / 1048576);
    log.info(
      {
        phase,
        ms: Math.round(performance.now() - t.start),
        rss_mib: mib(m.rss),
        heap_mib: mib(m.heapUsed),
        external_mib: mib(m.external),
        ...extra,
      },
      'export progress',
    );
    t.start = performance.now();
  };
  const staged = await db.connection().execute(async (conn) => {
    const n = await stageRelease(conn, { runId: ctx.runId, rulesVersion: version, previous });
    lap('staged', { items: n });
    const id = await releaseIdOfStage(conn, env.EXPORT_PAGE_SIZE);
    lap('release id', { release_id: id });
    const existing = await findRelease(conn, id);
    if (!ctx.input.release) return { id, n, existing, created: false };
    if (!existing) {
      await conn.transaction().execute((tx) => insertPendingRelease(tx, { id, previous }));
      // Fresh statistics, or the planner sorts the whole release for every page it is asked for.
      await sql`analyze export_items, release_content`.execute(conn);
      lap('release rows');
      return { id, n, existing: await findRelease(conn, id), created: true };
    }
    return { id, n, existing, created: false };
  });
  const prefix = releasePrefix(staged.id);
  const base = {
    releaseId: staged.id,
    manifestKey: `${prefix}/manifest.json`,
    rulesVersion: version,
    items: staged.n,
  };
  if (!ctx.input.release) {
    log.info({ release_id: staged.id, items: staged.n }, 'dry run: release not written');
    return {
      counts: { in: staged.n, out: 0, rejected: 0, skipped: 0 },
      extra: { ...base, releaseId: null, manifestKey: null, wouldBe: staged.id },
    };
  }
  const row = staged.existing;
  if (!row) throw new Error(`release ${staged.id} vanished`);
  if (row.status === 'complete' && (await readManifest(store, 'processed', prefix))) {
    log.info({ release_id: staged.id }, 'release already complete: nothing to do');
    return {
      counts: { in: staged.n, out: 0, rejected: 0, skipped: staged.n },
      extra: { ...base, diff: row.diff, releaseCounts: row.counts },
    };
  }

  // 3. files, then the manifest.
  const dir = path.join(env.EXPORT_WORK_DIR, `${staged.id}-${randomUUID()}`);
  await fsp.mkdir(dir, { recursive: true });
  try {
    if (env.DATABASE_URL) {
      // PostgreSQL streams each file itself (COPY … TO STDOUT).
      for (const [kind, name] of Object.entries(RELEASE_FILES)) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        await copyReleaseFile(env.DATABASE_URL, staged.id, kind, path.join(dir, name));
      }
    } else {
      await writePaged(ctx, staged.id, dir);
    }
    const files = [];
    for (const name of Object.values(RELEASE_FILES)) {
      const file = path.join(dir, name);
      files.push({
        name,
        body: fs.createReadStream(file),
        size: (await fsp.stat(file)).size,
        contentType: 'application/x-ndjson',
      });
    }
    lap('files written');
    const provenance = await releaseProvenance(db, staged.id);
    await publish(store, 'processed', prefix, 'release', files, {
      releaseId: staged.id,
      counts: row.counts,
      sourceRunIds: row.run_ids,
      models: provenance.models,
      promptVersions: provenance.promptVersions,
      rulesVersion: version,
      diff: row.diff,
    });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
  lap('published');
  // 4.
  await completeRelease(db, staged.id, base.manifestKey);
  log.info({ release_id: staged.id, items: staged.n, diff: row.diff }, 'release published');
  return {
    counts: { in: staged.n, out: staged.n, rejected: 0, skipped: 0 },
    extra: { ...base, diff: row.diff, releaseCounts: row.counts, resumed: !staged.created },
  };
}

/** The embedded database: one pass over the release in (kind, item) pages, each line to its kind's file. */
async function writePaged(
  ctx: StageContext<{ runId: string; release: boolean }, Env>,
  releaseId: string,
  dir: string,
) {
  const outs = new Map(
    Object.entries(RELEASE_FILES).map(
      ([kind, name]) => [kind, fs.createWriteStream(path.join(dir, name))] as const,
    ),
  );
  let after = { kind: '', itemId: '' };
  for (;;) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const page = await releaseContentPage(ctx.db, releaseId, after, ctx.env.EXPORT_PAGE_SIZE);
    const last = page.at(-1);
    if (!last) break;
    let start = 0;
    for (let i = 1; i <= page.length; i++) {
      if (i === page.length || page[i]?.kind !== page[start]?.kind) {
        const out = outs.get(page[start]?.kind ?? '');
        if (!out) throw new Error(`release ${releaseId} holds an unknown kind ${page[start]?.kind}`);
        const chunk = `${page
          .slice(start, i)
          .map((r) => r.line)
          .join('\n')}\n`;
        if (!out.write(chunk)) await once(out, 'drain');
        start = i;
      }
    }
    after = { kind: last.kind, itemId: last.item_id };
  }
  for (const out of outs.values()) {
    out.end();
    await once(out, 'finish');
  }
}
