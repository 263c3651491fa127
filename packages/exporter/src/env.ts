import { IntEnv, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

const ratio = z.coerce.number().min(0).max(1);

/** Every setting of the validate and export phases; the rules they tune are in docs/quality-gate.md. */
export const env = stageEnv({
  VALIDATE_LANGUAGE_MIN_CHARS: IntEnv({ min: 1 })
    .default(40)
    .describe('Below this many characters the language detector is not trusted and the rule passes.'),
  VALIDATE_PARAPHRASE_MAX_OVERLAP: ratio
    .default(0.8)
    .describe('A paraphrase sharing more than this share of content words with its source is a copy.'),
  VALIDATE_PARAPHRASE_MIN_OVERLAP: ratio
    .default(0.1)
    .describe('A paraphrase sharing less than this share of content words with its source has drifted.'),
  VALIDATE_MIN_BAND_GAIN: z.coerce
    .number()
    .min(-9)
    .max(9)
    .default(0)
    .describe("A model answer's target band must be at least its source's band plus this (may be negative)."),
  VALIDATE_CEFR_TOLERANCE: IntEnv({ min: 0, max: 5 })
    .default(1)
    .describe('CEFR levels a classification may differ from the level its band implies.'),
  VALIDATE_NEAR_DUPLICATE: ratio
    .default(0.8)
    .describe('Estimated similarity at or above which an item is a near-duplicate of an approved one.'),
  VALIDATE_BATCH: IntEnv({ min: 1, max: 100_000 }).default(500).describe('Items validated per transaction.'),
});
export type Env = z.output<typeof env>;
