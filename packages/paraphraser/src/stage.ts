import { ParaphraseInput, parseInput } from '@pronielts/shared/contracts';
import type { StageDefinition } from '@pronielts/shared/stage';
import type { z } from 'zod';
import { type Env, env } from './env.ts';
import { paraphrase } from './run.ts';

export type Input = z.output<typeof ParaphraseInput>;

export const stage: StageDefinition<Input, Env> = {
  name: 'paraphrase',
  bin: 'pronielts-paraphraser',
  description:
    'Writes band-targeted model answers for candidate answers and generates pronunciation drills, Part 2 cue cards and Part 3 follow-up questions with an Ollama LLM.',
  options: {},
  env,

  input: ({ runId }) => parseInput(ParaphraseInput, { runId }),
  run: (ctx) => paraphrase(ctx),
};
