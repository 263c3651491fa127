import { trackProgress } from '@pronielts/shared/log';
import type { StageContext, StageResult } from '@pronielts/shared/stage';
import type { Env } from '../env.ts';
import { ruleConfigFrom, rulesVersion } from './config.ts';
import { type Reason, textsOf, type ValidatedKind, type ValidationItem } from './item.ts';
import { itemRules, statusOf } from './rules.ts';
import { bandHashes, exactHash, jaccard, minhash, shingles } from './text.ts';
import {
  countRunValidations,
  type Fingerprint,
  findBandCandidates,
  findExact,
  type ItemToValidate,
  listItemsToValidate,
  saveValidations,
} from './validations.repository.ts';

export { ruleConfigFrom, rulesVersion } from './config.ts';

/**
 * The duplicate rule, given what is published: the owner of the same normalised text, if any, and the
 * candidates of the same kind (LSH band matches and items published earlier in the page) with their
 * shingle sets. The exact Jaccard of the shingle sets decides.
 */
export function duplicateRule(
  id: string,
  words: Set<string>,
  exactOwner: string | undefined,
  published: Array<{ id: string; words: Set<string> }>,
  cfg: { nearDuplicate: number },
): Reason[] {
  if (exactOwner && exactOwner !== id)
    return [{ rule: 'duplicate', detail: `same text as approved item ${exactOwner}` }];
  const near = published
    .filter((c) => c.id !== id)
    .map((c) => ({ id: c.id, sim: jaccard(words, c.words) }))
    .sort((a, b) => b.sim - a.sim)[0];
  if (!near || near.sim < cfg.nearDuplicate) return [];
  return [
    { rule: 'duplicate', detail: `near-duplicate (${near.sim.toFixed(2)}) of approved item ${near.id}` },
  ];
}

const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export function toValidationItem(row: ItemToValidate): ValidationItem {
  const kind = row.kind as ValidatedKind;
  const p = row.payload;
  const { text, readable } = textsOf(kind, p);
  return {
    id: row.id,
    itemType: row.item_type,
    kind,
    payload: kind === 'segment' ? { ...p, band: num(p.band) } : p,
    text,
    readable,
    ...(kind === 'model_answer'
      ? {
          source: { text: String(p.source_text ?? ''), band: num(p.source_band) },
          targetBand: num(row.target_band ?? p.target_band),
          siblings: (row.siblings ?? []).map((s) => ({ band: Number(s.band), text: s.text })),
        }
      : {}),
    ...(kind === 'drill' ? { promptData: strings([p.source_text]) } : {}),
    ...(kind === 'cue_card' || kind === 'follow_up' ? { promptData: strings(p.source_questions) } : {}),
    ...(kind === 'segment'
      ? {
          band: num(p.band),
          cefr: typeof p.cefr === 'string' ? p.cefr : null,
          turn: p.turn === 'question' || p.turn === 'answer' ? p.turn : null,
        }
      : {}),
  };
}

/**
 * Judges every item of the run once per rules version, in pages: the item rules, then duplicates against
 * every approved item of the corpus (all runs) and the approved items earlier in this page. Each page's
 * validations and the fingerprints of its approved items are one transaction, so a killed run resumes
 * at the first page it did not commit.
 */
export async function validate(ctx: StageContext<{ runId: string }, Env>): Promise<StageResult> {
  const { db, log, env } = ctx;
  const cfg = ruleConfigFrom(env);
  const version = rulesVersion(cfg);
  const before = await countRunValidations(db, ctx.runId, version);
  const skipped = (before.approved ?? 0) + (before.rejected ?? 0) + (before.needs_review ?? 0);
  let approved = 0;
  let rejected = 0;
  let needsReview = 0;
  const rejections: Record<string, number> = {};
  const reviews: Record<string, number> = {};
  let after = '';
  // Items are read page by page, so the plan has no total.
  const progress = trackProgress(log, { skipped });
  while (!ctx.signal.aborted) {
    const rows = await listItemsToValidate(db, ctx.runId, version, after, env.VALIDATE_BATCH);
    if (rows.length === 0) break;
    after = rows.at(-1)?.id ?? after;
    const items = rows.map(toValidationItem);
    const results: Parameters<typeof saveValidations>[2] = [];
    const fingerprints: Fingerprint[] = [];

    // Corpus lookups for the whole page, per kind.
    const pending = items.map((item) => {
      const reasons: Reason[] = itemRules(item, cfg);
      const sig = minhash(item.text);
      return {
        item,
        reasons,
        exact: exactHash(item.text),
        sig,
        words: shingles(item.text),
        bands: bandHashes(sig),
      };
    });
    const kinds = [...new Set(pending.map((p) => p.item.kind))];
    const exactOwners = new Map<string, string>();
    const candidates = new Map<string, Array<{ item_id: string; shingles: string[] }>>();
    for (const kind of kinds) {
      const ofKind = pending.filter((p) => p.item.kind === kind);
      for (const e of await findExact(
        db,
        kind,
        ofKind.map((p) => p.exact),
      ))
        exactOwners.set(`${kind}:${e.exact_hash}`, e.item_id);
      const bands = ofKind.flatMap((p) => p.bands.map((hash, band) => ({ band, hash })));
      candidates.set(kind, await findBandCandidates(db, kind, bands));
    }
    // Items approved earlier in this page count as corpus too.
    const pageApproved: Array<{ kind: string; itemId: string; exact: string; words: Set<string> }> = [];
    for (const p of pending) {
      const { item } = p;
      if (statusOf(p.reasons) !== 'rejected') {
        const exactOwner =
          exactOwners.get(`${item.kind}:${p.exact}`) ??
          pageApproved.find((a) => a.kind === item.kind && a.exact === p.exact)?.itemId;
        const published = [
          ...(candidates.get(item.kind) ?? []).map((c) => ({ id: c.item_id, words: new Set(c.shingles) })),
          ...pageApproved.filter((a) => a.kind === item.kind).map((a) => ({ id: a.itemId, words: a.words })),
        ];
        p.reasons.push(...duplicateRule(item.id, p.words, exactOwner, published, cfg));
      }
      const status = statusOf(p.reasons);
      results.push({ itemId: item.id, itemType: item.itemType, status, reasons: p.reasons });
      const byRule = status === 'rejected' ? rejections : reviews;
      for (const r of new Set(p.reasons.map((x) => x.rule))) byRule[r] = (byRule[r] ?? 0) + 1;
      if (status !== 'rejected') {
        // needs_review items are published (flagged), so they count as corpus for duplicates too
        if (status === 'approved') approved++;
        else needsReview++;
        pageApproved.push({ kind: item.kind, itemId: item.id, exact: p.exact, words: p.words });
        fingerprints.push({
          itemId: item.id,
          kind: item.kind,
          exactHash: p.exact,
          minhash: p.sig,
          shingles: [...p.words],
          bands: p.bands,
        });
      } else {
        rejected++;
      }
    }
    await saveValidations(db, version, results, fingerprints);
    log.info({ page: rows.length, approved, needsReview, rejected }, 'validated a page');
    progress.done(`page of ${rows.length}`, rows.length);
  }
  return {
    counts: {
      in: skipped + approved + needsReview + rejected,
      out: approved + needsReview,
      rejected,
      skipped,
    },
    rejections,
    extra: { rulesVersion: version, needsReview, reviews },
  };
}
