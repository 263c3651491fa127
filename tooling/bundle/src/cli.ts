#!/usr/bin/env node
// pronielts-bundle [--entry dist/cli.js] [--outdir dist/bundle] [--external <pkg>]...
// Run by a stage's `build` script after tsc, in the package folder.
import { parseArgs } from 'node:util';
import { bundleStage } from './bundle.ts';

const { values } = parseArgs({
  options: {
    entry: { type: 'string' },
    outdir: { type: 'string' },
    external: { type: 'string', multiple: true },
  },
});
try {
  const r = await bundleStage({
    cwd: process.cwd(),
    ...(values.entry ? { entry: values.entry } : {}),
    ...(values.outdir ? { outdir: values.outdir } : {}),
    external: values.external ?? [],
  });
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  for (const f of r.files) process.stdout.write(`  ${f.file}  ${kib(f.bytes)}\n`);
  process.stdout.write(`bundled ${r.entry} (left out: ${r.external.join(', ')})\n`);
} catch (err) {
  process.stderr.write(`pronielts-bundle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
