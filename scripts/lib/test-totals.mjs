// Adds up the test reports into one closing line: vitest's JSON reports (test-results/{unit,int}.json per
// package) and JUnit XML files (the DAG tests' pytest report, dags/test-results/junit.xml).
import fs from 'node:fs';
import path from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];

/** Counts of a JUnit XML report: the sum over its <testsuite> elements (pytest writes one). */
function junitCounts(xml) {
  let tests = 0;
  let bad = 0;
  let skip = 0;
  for (const m of xml.matchAll(/<testsuite\b([^>]*)>/g)) {
    const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(m[1])?.[1] ?? 0);
    tests += attr('tests');
    bad += attr('failures') + attr('errors');
    skip += attr('skipped');
  }
  return { total: tests, passed: tests - bad - skip, failed: bad, skipped: skip };
}

for (const file of process.argv.slice(2)) {
  if (!fs.existsSync(file)) continue;
  const pkg = path.basename(path.dirname(path.dirname(file)));
  let c;
  let kind;
  if (file.endsWith('.xml')) {
    c = junitCounts(fs.readFileSync(file, 'utf8'));
    kind = 'pytest';
  } else {
    const r = JSON.parse(fs.readFileSync(file, 'utf8'));
    c = {
      total: r.numTotalTests,
      passed: r.numPassedTests,
      failed: r.numFailedTests,
      skipped: r.numPendingTests + (r.numTodoTests ?? 0),
    };
    kind = path.basename(file, '.json');
  }
  passed += c.passed;
  failed += c.failed;
  skipped += c.skipped;
  if (c.total === 0) continue;
  rows.push(`  ${`${pkg} (${kind})`.padEnd(28)} ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
}
console.log(rows.join('\n'));
if (rows.length === 0) {
  console.log('no test reports found');
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
