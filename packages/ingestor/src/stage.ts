import { IngestInput, parseInput, parseJsonArray } from '@pronielts/shared/contracts';
import type { StageDefinition } from '@pronielts/shared/stage';
import type { z } from 'zod';
import { type Env, env } from './env.ts';
import { ingest } from './run.ts';
export type Input = z.output<typeof IngestInput>;

export const stage: StageDefinition<Input, Env> = {
  name: 'ingest',
  bin: 'pronielts-ingestor',
  description:
    'Downloads and validates source media (http(s), s3://, local files), normalises it to 16 kHz mono WAV with ffmpeg and stores source and WAV in pronielts-raw, content-addressed by sha256.',
  options: {
    source: {
      type: 'string',
      multiple: true,
      description: 'a media source: http(s) URL, s3://bucket/key or a local path',
      arg: '<uri>',
    },
    'sources-json': {
      type: 'string',
      description: 'the sources as a JSON array (how the DAG passes its params)',
      arg: '<json>',
    },
  },
  env,

  input: ({ runId, values }) => {
    const fromJson = typeof values['sources-json'] === 'string' ? parseJsonArray(values['sources-json']) : [];
    const sources = [...((values.source as string[] | undefined) ?? []), ...fromJson];
    return parseInput(IngestInput, { runId, sources });
  },
  run: (ctx) => ingest(ctx),
};
