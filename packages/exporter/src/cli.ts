#!/usr/bin/env node
import { migrateCli } from '@pronielts/shared/db';
import { main } from '@pronielts/shared/stage';
import { PHASES } from './stage.ts';

const USAGE = `Usage: pronielts-exporter <validate|export|quality-check> --run-id <id> [options]
       pronielts-exporter migrate [latest|status|down]

  validate   run the quality rules over the run's items (approved / rejected with reasons)
  export     publish the approved items as a versioned release
  quality-check  data-quality checks (completeness, freshness, anomalies); exit 3 when one fails
  migrate    apply the automation-DB migrations (the DAG's migrate task; same as pronielts-migrate)

Run 'pronielts-exporter <phase> --help' for the options and environment of a phase.
`;

const [phase, ...rest] = process.argv.slice(2);
if (phase === 'validate') {
  await main(PHASES.validate, rest);
} else if (phase === 'export') {
  await main(PHASES.export, rest);
} else if (phase === 'quality-check') {
  await main(PHASES['quality-check'], rest);
} else if (phase === 'migrate') {
  process.exit(await migrateCli(rest));
} else if (phase === undefined || phase === '--help' || phase === '-h') {
  process.stdout.write(USAGE);
  process.exit(phase === undefined ? 2 : 0);
} else {
  process.stderr.write(`unknown phase ${JSON.stringify(phase)}\n${USAGE}`);
  process.exit(2);
}
