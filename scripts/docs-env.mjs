// Writes the env tables of the READMEs, each `<!-- env:begin NAME -->` … `<!-- env:end -->` region, from
// the zod schemas (`pnpm docs:env`): each package's src/env.ts, which imports packages/shared's dist (build
// it first). With --check it writes nothing, names the stale files and exits 1 (pipeline's env-docs test).
import fs from 'node:fs';
import path from 'node:path';
import { env as classify } from '../packages/classifier/src/env.ts';
import { env as exporter } from '../packages/exporter/src/env.ts';
import { qualityEnv as quality } from '../packages/exporter/src/quality/quality.env.ts';
import { env as ingest } from '../packages/ingestor/src/env.ts';
import { env as paraphrase } from '../packages/paraphraser/src/env.ts';
import { env as pipeline } from '../packages/pipeline/src/env.ts';
import * as config from '../packages/shared/dist/config/index.js';
import { env as transcribe } from '../packages/transcriber/src/env.ts';

const stages = { ingest, transcribe, classify, paraphrase, exporter, quality, pipeline };
const { envRows, envTable, fillEnvRegions, sharedEnv, sharedEnvShape } = config;
const tables = { shared: envTable(envRows(sharedEnv)) };
for (const [name, schema] of Object.entries(stages)) tables[name] = envTable(envRows(schema, sharedEnvShape));

const root = path.resolve(import.meta.dirname, '..');
const files = [
  'README.md',
  ...fs.readdirSync(path.join(root, 'packages')).map((p) => `packages/${p}/README.md`),
];
const stale = [];
for (const file of files) {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const next = fillEnvRegions(text, tables);
  if (next === text) continue;
  stale.push(file);
  if (!process.argv.includes('--check')) fs.writeFileSync(path.join(root, file), next);
}
if (process.argv.includes('--check') && stale.length > 0) {
  console.log(`env tables out of date in ${stale.join(', ')}: run \`pnpm docs:env\``);
  process.exit(1);
}
if (stale.length > 0) console.log(`env tables written: ${stale.join(', ')}`);
