// Adds up the test reports of one scripts/test run into its closing line.
//
//   node scripts/lib/test-totals.mjs [--failed-phase <name>=<kind>]... <report>...
//
// <kind> is the kind of report the phase writes: unit or int (vitest), or pytest:<folder> (JUnit).
// Reports are vitest JSON files (<package>/test-results/{unit,int}.json) and JUnit XML (the DAG tests'
// pytest report). Every report named here is expected: a missing one counts as a failed suite, as does
// a test file that failed outside its tests (an import error, a failing beforeAll), and a phase that
// exited non-zero with no failed test in its reports to show for it (a build, typecheck or lint error). So the last line never
// says "0 failed" for a run that failed. Exits 1 when anything failed.
import fs from 'node:fs';
import path from 'node:path';

const reports = [];
const failedPhases = [];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--failed-phase') failedPhases.push(process.argv[++i]);
  else reports.push(process.argv[i]);
}

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
const failures = [];
const failedByKind = new Map();

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
  return { passed: tests - bad - skip, failed: bad, skipped: skip, broken: [] };
}

/** Counts of a vitest JSON report; a file that failed with no failed test is one failed suite. */
function vitestCounts(r) {
  const brokenFiles = r.testResults.filter(
    (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
  );
  // vitest reports the tests of a broken file as skipped: they never ran, and the file counts as failed.
  const notRun = brokenFiles.reduce((n, f) => n + f.assertionResults.filter((a) => a.status !== 'passed').length, 0);
  return {
    passed: r.numPassedTests,
    failed: r.numFailedTests + brokenFiles.length,
    skipped: r.numPendingTests + (r.numTodoTests ?? 0) - notRun,
    broken: brokenFiles.map((f) => `${f.name}: ${(f.message || 'failed outside its tests').split('\n')[0]}`),
  };
}

for (const file of reports) {
  const pkg = path.basename(path.dirname(path.dirname(file)));
  const kind = file.endsWith('.xml') ? 'pytest' : path.basename(file, '.json');
  const label = `${pkg} (${kind})`;
  let c;
  if (!fs.existsSync(file)) {
    c = { passed: 0, failed: 1, skipped: 0, broken: [`${label}: no report (${file}): the suite did not run`] };
  } else {
    try {
      const text = fs.readFileSync(file, 'utf8');
      c = file.endsWith('.xml') ? junitCounts(text) : vitestCounts(JSON.parse(text));
    } catch (err) {
      c = { passed: 0, failed: 1, skipped: 0, broken: [`${label}: unreadable report ${file}: ${err.message}`] };
    }
  }
  passed += c.passed;
  failed += c.failed;
  skipped += c.skipped;
  failures.push(...c.broken);
  const key = kind === 'pytest' ? `pytest:${pkg}` : kind;
  failedByKind.set(key, (failedByKind.get(key) ?? 0) + c.failed);
  rows.push(`  ${label.padEnd(28)} ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
}
for (const spec of failedPhases) {
  const [phase, kind] = spec.split('=');
  if ((failedByKind.get(kind) ?? 0) > 0) continue; // its failed tests already say why
  failed += 1;
  failures.push(`phase failed: ${phase} (see its output above)`);
  rows.push(`  ${phase.padEnd(28)} failed`);
}

console.log(rows.join('\n'));
for (const f of failures) console.log(`  FAILED ${f}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || reports.length === 0 ? 1 : 0);
