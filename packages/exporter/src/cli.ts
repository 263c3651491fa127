#!/usr/bin/env node
import { main } from '@pronielts/shared/stage';
import { PHASES } from './stage.ts';

const USAGE = `Usage: pronielts-exporter <validate|export> --run-id <id> [options]

  validate   run the quality rules over the run's items (approved / rejected with reasons)
  export     publish the approved items as a versioned release

Run 'pronielts-exporter <phase> --help' for the options and environment of a phase.
`;

const [phase, ...rest] = process.argv.slice(2);
if (phase === 'validate') {
  await main(PHASES.validate, rest);
} else if (phase === 'export') {
  await main(PHASES.export, rest);
} else if (phase === undefined || phase === '--help' || phase === '-h') {
  process.stdout.write(USAGE);
  process.exit(phase === undefined ? 2 : 0);
} else {
  process.stderr.write(`unknown phase ${JSON.stringify(phase)}\n${USAGE}`);
  process.exit(2);
}
