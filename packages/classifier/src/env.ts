import { IntEnv, llmEnvShape, stageEnv } from '@pronielts/shared/config';
import type { z } from 'zod';

/** Every setting of the classify stage: the shared variables, Ollama's, and its own. */
export const env = stageEnv({
  ...llmEnvShape,
  CLASSIFY_NUM_PREDICT: IntEnv({ min: 64, max: 4096 })
    .default(400)
    .describe('Token budget of one classification; an answer cut off at it is invalid.'),
});
export type Env = z.output<typeof env>;
