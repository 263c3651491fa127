import fs from 'node:fs';
import path from 'node:path';
import type { RuleConfig } from './config.ts';
import type { Reason, RuleId, ValidationStatus } from './item.ts';
import { itemRules, statusOf } from './rules.ts';
import { exactHash, shingles } from './text.ts';
import { duplicateRule, toValidationItem } from './validate.ts';
import type { ItemToValidate } from './validations.repository.ts';

/**
 * The gate's corpus of real model output (test/fixtures/gate-corpus.jsonl, made by bench/src/gate-corpus.ts)
 * and its hand-written labels: the gate run over it the way the validate phase runs (every rule, then
 * duplicates against what was published before, in id order), and precision/recall against the labels.
 */

export interface CorpusLabel {
  /** What the item should end as, by the rules' intent. */
  expect: ValidationStatus;
  /** The rules that should fire on it (none for a good item). */
  rules: RuleId[];
  /** Why, in a reviewer's words. */
  why: string;
  /** Set when the gate is known to get this item wrong: what it misses, and why it is left so. */
  gateMisses?: string;
}

export interface Judged {
  row: ItemToValidate;
  label: CorpusLabel | undefined;
  status: ValidationStatus;
  reasons: Reason[];
  rules: RuleId[];
}

export const CORPUS_DIR = path.resolve(import.meta.dirname, '../../test/fixtures');

export function loadGateCorpus(dir = CORPUS_DIR): {
  rows: ItemToValidate[];
  labels: Record<string, CorpusLabel>;
} {
  const rows = fs
    .readFileSync(path.join(dir, 'gate-corpus.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ItemToValidate);
  const labels = JSON.parse(fs.readFileSync(path.join(dir, 'gate-corpus.labels.json'), 'utf8')) as Record<
    string,
    CorpusLabel
  >;
  return { rows, labels };
}

export function judgeCorpus(
  rows: ItemToValidate[],
  labels: Record<string, CorpusLabel>,
  cfg: RuleConfig,
): Judged[] {
  const published: Array<{ kind: string; id: string; exact: string; words: Set<string> }> = [];
  return [...rows]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((row) => {
      const item = toValidationItem(row);
      const reasons = itemRules(item, cfg);
      const exact = exactHash(item.text);
      const words = shingles(item.text);
      if (statusOf(reasons) !== 'rejected') {
        const same = published.filter((p) => p.kind === item.kind);
        reasons.push(...duplicateRule(item.id, words, same.find((p) => p.exact === exact)?.id, same, cfg));
      }
      const status = statusOf(reasons);
      if (status !== 'rejected') published.push({ kind: item.kind, id: item.id, exact, words });
      return { row, label: labels[row.id], status, reasons, rules: [...new Set(reasons.map((r) => r.rule))] };
    });
}

export interface Score {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

const score = (tp: number, fp: number, fn: number): Score => ({
  tp,
  fp,
  fn,
  precision: tp + fp === 0 ? 1 : tp / (tp + fp),
  recall: tp + fn === 0 ? 1 : tp / (tp + fn),
});

/**
 * Precision and recall against the labels: per rule (did it fire where the label says it should), and
 * for the gate as a whole, where "positive" is an item that should not be published as it is
 * (rejected or needs_review).
 */
export function precisionRecall(judged: Judged[]): { byRule: Record<string, Score>; gate: Score } {
  const labelled = judged.filter((j): j is Judged & { label: CorpusLabel } => j.label !== undefined);
  const ruleIds = new Set(labelled.flatMap((j) => [...j.rules, ...j.label.rules]));
  const byRule: Record<string, Score> = {};
  for (const rule of [...ruleIds].sort()) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const j of labelled) {
      const fired = j.rules.includes(rule);
      const wanted = j.label.rules.includes(rule);
      if (fired && wanted) tp++;
      else if (fired) fp++;
      else if (wanted) fn++;
    }
    byRule[rule] = score(tp, fp, fn);
  }
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const j of labelled) {
    const flagged = j.status !== 'approved';
    const bad = j.label.expect !== 'approved';
    if (flagged && bad) tp++;
    else if (flagged) fp++;
    else if (bad) fn++;
  }
  return { byRule, gate: score(tp, fp, fn) };
}
