import { describe, expect, it } from 'vitest';
import { env } from '../env.ts';
import { ruleConfigFrom } from './config.ts';
import { judgeCorpus, loadGateCorpus, precisionRecall } from './corpus.ts';

// The gate over its corpus of real small-model output (test/fixtures/gate-corpus.jsonl: what Gemma 3
// 270M wrote for generated IELTS exchanges, as the gate's query returns it) against the labels written
// by hand by the rules' intent (gate-corpus.labels.json). bench:gate prints precision and recall.

const { rows, labels } = loadGateCorpus();
const judged = judgeCorpus(rows, labels, ruleConfigFrom(env.parse({})));

describe('the quality gate on real small-model output', () => {
  it('has a label for every item of the corpus, and a corpus worth the name', () => {
    expect(rows.length).toBeGreaterThanOrEqual(30);
    expect(rows.filter((r) => !labels[r.id]).map((r) => r.id)).toEqual([]);
    const kinds = new Set(rows.map((r) => r.kind));
    for (const k of ['segment', 'model_answer', 'drill', 'cue_card']) expect(kinds).toContain(k);
  });

  it.each(judged.filter((j) => !j.label?.gateMisses).map((j) => [`${j.row.kind} ${j.row.id}`, j] as const))(
    '%s ends as labelled, with the labelled rules',
    (_name, j) => {
      expect(
        j.status,
        `${j.label?.why} — fired: ${j.reasons.map((r) => `${r.rule}: ${r.detail}`).join('; ')}`,
      ).toBe(j.label?.expect);
      for (const rule of j.label?.rules ?? []) expect(j.rules, j.label?.why).toContain(rule);
    },
  );

  it('approves nothing the labels call degenerate, known misses included', () => {
    // A known miss may fire the wrong rule; it must still not be published unflagged.
    const leaked = judged.filter((j) => j.label && j.label.expect !== 'approved' && j.status === 'approved');
    expect(leaked.map((j) => `${j.row.id}: ${j.label?.why}`)).toEqual([]);
  });

  it('keeps its precision and recall on the labelled corpus', () => {
    const { gate } = precisionRecall(judged);
    expect(gate.recall).toBe(1);
    expect(gate.precision).toBeGreaterThanOrEqual(0.9);
  });
});
