import { ClassifyInput, parseInput } from '@pronielts/shared/contracts';
import type { StageDefinition } from '@pronielts/shared/stage';
import type { z } from 'zod';
import { type Env, env } from './env.ts';
import { classify } from './run.ts';

export type Input = z.output<typeof ClassifyInput>;

export const stage: StageDefinition<Input, Env> = {
  name: 'classify',
  bin: 'pronielts-classifier',
  description:
    'Classifies every segment of a run with an Ollama LLM: IELTS part, kind, topic, band, CEFR level and pronunciation focus.',
  options: {},
  env,

  input: ({ runId }) => parseInput(ClassifyInput, { runId }),
  run: (ctx) => classify(ctx),
};
