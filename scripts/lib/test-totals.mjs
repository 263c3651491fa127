// Adds up vitest's JSON reports (test-results/{unit,int}.json per package) into one closing line.
import fs from 'node:fs';
import path from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const file of process.argv.slice(2)) {
  if (!fs.existsSync(file)) continue;
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const pkg = path.basename(path.dirname(path.dirname(file)));
  const kind = path.basename(file, '.json');
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  if (r.numTotalTests === 0) continue;
  rows.push(
    `  ${`${pkg} (${kind})`.padEnd(28)} ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`,
  );
}
console.log(rows.join('\n'));
if (rows.length === 0) {
  console.log('no test reports found');
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
