// The quality gate against its labelled corpus of real small-model output (run: pnpm --filter
// @pronielts/bench bench:gate; the corpus is made by gate:corpus and labelled by hand). Prints precision
// and recall per rule and for the gate as a whole, and every item the gate gets wrong.
import { env, judgeCorpus, loadGateCorpus, precisionRecall, ruleConfigFrom } from '@pronielts/exporter';
import { table } from './util.ts';

export function benchGate(): void {
  const { rows, labels } = loadGateCorpus();
  const judged = judgeCorpus(rows, labels, ruleConfigFrom(env.parse({})));
  const { byRule, gate } = precisionRecall(judged);
  const labelled = judged.filter((j) => j.label);
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  console.log(
    `corpus: ${rows.length} items, ${labelled.length} labelled (${labelled.filter((j) => j.label?.expect !== 'approved').length} bad by the labels)`,
  );
  table('The gate: an item that should not be published as it is (rejected or needs_review) is a positive', [
    {
      what: 'gate',
      tp: gate.tp,
      fp: gate.fp,
      fn: gate.fn,
      precision: pct(gate.precision),
      recall: pct(gate.recall),
    },
  ]);
  table(
    'Per rule: fired where the labels say it should',
    Object.entries(byRule).map(([rule, s]) => ({
      rule,
      tp: s.tp,
      fp: s.fp,
      fn: s.fn,
      precision: pct(s.precision),
      recall: pct(s.recall),
    })),
  );
  const wrong = labelled.filter(
    (j) => j.status !== j.label?.expect || (j.label?.rules ?? []).some((r) => !j.rules.includes(r)),
  );
  console.log(`\n## Items the gate gets wrong (${wrong.length})\n`);
  for (const j of wrong) {
    console.log(
      `- ${j.row.id} ${j.row.kind}: labelled ${j.label?.expect} [${j.label?.rules.join(', ')}], gate ${j.status} [${j.rules.join(', ')}]${j.label?.gateMisses ? ` (known: ${j.label.gateMisses})` : ''}`,
    );
  }
}

if (import.meta.main) benchGate();
