import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stage as classify } from '@pronielts/classifier';
import { PHASES } from '@pronielts/exporter';
import { stage as ingest } from '@pronielts/ingestor';
import { stage as paraphrase } from '@pronielts/paraphraser';
import { usage } from '@pronielts/shared/stage';
import { stage as transcribe } from '@pronielts/transcriber';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { USAGE } from './args.ts';
import { env } from './env.ts';

// Every CLI's --help and every README env table come from the zod schemas (pnpm docs:env writes the tables).
const stages = [ingest, transcribe, classify, paraphrase, ...Object.values(PHASES)];
const helps = [
  ...stages.map((d) => ({ bin: d.bin, help: usage(d as never), schema: d.env as unknown as z.ZodObject })),
  { bin: 'pronielts-pipeline', help: USAGE, schema: env as unknown as z.ZodObject },
];

describe('env documentation', () => {
  it.each(helps)(
    '$bin --help lists every variable of its schema with its text and default',
    ({ help, schema }) => {
      const defaults: Record<string, unknown> = schema.parse({});
      for (const [name, field] of Object.entries(schema.shape)) {
        const description = z.globalRegistry.get(field)?.description;
        expect(description, `${name} has no .describe()`).toMatch(/\w/);
        const line = help.split('\n').find((l) => l.startsWith(`  ${name} `));
        expect(line, name).toContain(description);
        if (defaults[name] !== undefined) expect(line, name).toContain(`(default: ${String(defaults[name])}`);
      }
    },
  );

  it('the READMEs hold the env tables `pnpm docs:env` writes', () => {
    const script = fileURLToPath(new URL('../../../scripts/docs-env.mjs', import.meta.url));
    const res = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(res.stdout + res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});
