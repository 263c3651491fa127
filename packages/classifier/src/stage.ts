import { ClassifyInput, parseInput } from '@pronielts/shared/contracts';
import { type StageDefinition, StageError } from '@pronielts/shared/stage';
import type { z } from 'zod';
import { type Env, env } from './env.ts';

export type Input = z.output<typeof ClassifyInput>;

export const stage: StageDefinition<Input, Env> = {
  name: 'classify',
  bin: 'pronielts-classifier',
  description:
    'Classifies every segment of a run with an Ollama LLM: IELTS part, kind, topic, band, CEFR level and pronunciation focus.',
  options: {},
  env,
  envHelp: {
    OLLAMA_HOST: 'Ollama API URL (default in-cluster service in a pod, http://127.0.0.1:11434 elsewhere)',
    LLM_MODEL: 'primary model (default llama3.1:8b)',
    LLM_FALLBACK_MODEL: 'backup model when the primary is missing (default mistral:7b)',
  },
  input: ({ runId }) => parseInput(ClassifyInput, { runId }),
  run: async () => {
    throw new StageError('not_implemented', 'the classify stage is not implemented yet');
  },
};
