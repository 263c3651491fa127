import { IntEnv, llmEnvShape, stageEnv } from '@pronielts/shared/config';
import { Band } from '@pronielts/shared/contracts';
import { z } from 'zod';

/** Every setting of the paraphrase/generate stage: the shared variables, Ollama's, and its own. */
export const env = stageEnv({
  ...llmEnvShape,
  PARAPHRASE_TARGET_BANDS: z
    .string()
    .default('6,7,8')
    .transform((s) => s.split(',').map((x) => Number(x.trim())))
    .pipe(z.array(Band).min(1).max(4))
    .describe('Comma-separated bands model answers are written for.'),
  PARAPHRASE_NUM_PREDICT: IntEnv({ min: 128, max: 8192 })
    .default(1800)
    .describe('Token budget per answer set (all bands of one segment).'),
  GENERATE_NUM_PREDICT: IntEnv({ min: 128, max: 8192 })
    .default(800)
    .describe("Token budget per generation request (a segment's drills, a cue card, a set of follow-ups)."),
  GENERATE_TEMPERATURE: z.coerce
    .number()
    .min(0)
    .max(2)
    .default(0.7)
    .describe('Sampling temperature for generated content (classification uses 0).'),
});
export type Env = z.output<typeof env>;
