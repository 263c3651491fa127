import { IntEnv, LLM_ENV_HELP, llmEnvShape, stageEnv } from '@pronielts/shared/config';
import type { z } from 'zod';

/** Every setting of the classify stage: the shared variables, Ollama's, and its own. */
export const env = stageEnv({
  ...llmEnvShape,
  /** Token budget of one classification; an answer cut off at it is invalid. */
  CLASSIFY_NUM_PREDICT: IntEnv({ min: 64, max: 4096 }).default(400),
});
export type Env = z.output<typeof env>;

export const ENV_HELP = {
  ...LLM_ENV_HELP,
  CLASSIFY_NUM_PREDICT: 'token limit per classification (default 400)',
};
