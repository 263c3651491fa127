#!/usr/bin/env node
import { parseCli, USAGE } from './args.ts';
import { runPipeline } from './run.ts';

const parsed = parseCli(process.argv.slice(2));
if (parsed.kind === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (parsed.kind === 'error') {
  process.stderr.write(`pronielts-pipeline: ${parsed.message} (see --help)\n`);
  process.exit(2);
}
// SIGINT/SIGTERM stop the running stage the way a pod is stopped (SIGTERM, exit 75); a second one exits now.
const ac = new AbortController();
const onSignal = () => {
  if (ac.signal.aborted) process.exit(75);
  ac.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.exitCode = await runPipeline(parsed.args, { signal: ac.signal });
