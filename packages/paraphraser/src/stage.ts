import { ParaphraseInput, parseInput } from '@pronielts/shared/contracts';
import { type StageDefinition, StageError } from '@pronielts/shared/stage';
import type { z } from 'zod';
import { type Env, env } from './env.ts';

export type Input = z.output<typeof ParaphraseInput>;

export const stage: StageDefinition<Input, Env> = {
  name: 'paraphrase',
  bin: 'pronielts-paraphraser',
  description:
    'Writes band-targeted model answers for candidate answers and generates pronunciation drills, Part 2 cue cards and Part 3 follow-up questions with an Ollama LLM.',
  options: {},
  env,
  envHelp: {
    OLLAMA_HOST: 'Ollama API URL (default in-cluster service in a pod, http://127.0.0.1:11434 elsewhere)',
    LLM_MODEL: 'primary model (default llama3.1:8b)',
    LLM_FALLBACK_MODEL: 'backup model when the primary is missing (default mistral:7b)',
  },
  input: ({ runId }) => parseInput(ParaphraseInput, { runId }),
  run: async () => {
    throw new StageError('not_implemented', 'the paraphrase stage is not implemented yet');
  },
};
