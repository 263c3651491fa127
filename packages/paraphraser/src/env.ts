import { IntEnv, LLM_ENV_HELP, llmEnvShape, stageEnv } from '@pronielts/shared/config';
import { Band } from '@pronielts/shared/contracts';
import { z } from 'zod';

/** Every setting of the paraphrase/generate stage: the shared variables, Ollama's, and its own. */
export const env = stageEnv({
  ...llmEnvShape,
  /** Bands model answers are written for. */
  PARAPHRASE_TARGET_BANDS: z
    .string()
    .default('6,7,8')
    .transform((s) => s.split(',').map((x) => Number(x.trim())))
    .pipe(z.array(Band).min(1).max(4)),
  /** Token budget per answer set (all bands of one segment). */
  PARAPHRASE_NUM_PREDICT: IntEnv({ min: 128, max: 8192 }).default(1800),
  GENERATE_NUM_PREDICT: IntEnv({ min: 128, max: 8192 }).default(800),
  /** Sampling temperature for generated content (classification uses 0). */
  GENERATE_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.7),
});
export type Env = z.output<typeof env>;

export const ENV_HELP = {
  ...LLM_ENV_HELP,
  PARAPHRASE_TARGET_BANDS: 'comma-separated target bands for model answers (default 6,7,8)',
  PARAPHRASE_NUM_PREDICT: 'token limit for one set of model answers (default 1800)',
  GENERATE_NUM_PREDICT: 'token limit for drills, cue cards and follow-ups (default 800)',
  GENERATE_TEMPERATURE: 'sampling temperature for generated content (default 0.7)',
};
