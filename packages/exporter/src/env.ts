import { IntEnv, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

const ratio = z.coerce.number().min(0).max(1);

/** Every setting of the validate and export phases; thresholds are documented in docs/quality-gate.md. */
export const env = stageEnv({
  /** Below this many characters the language detector is not trusted and the rule passes. */
  VALIDATE_LANGUAGE_MIN_CHARS: IntEnv({ min: 1 }).default(40),
  /** A paraphrase sharing more than this share of content words with its source is a copy. */
  VALIDATE_PARAPHRASE_MAX_OVERLAP: ratio.default(0.8),
  /** …and sharing less than this share has drifted away from it. */
  VALIDATE_PARAPHRASE_MIN_OVERLAP: ratio.default(0.1),
  /** A model answer's target band must be at least the source's band plus this (may be negative). */
  VALIDATE_MIN_BAND_GAIN: z.coerce.number().min(-9).max(9).default(0),
  /** CEFR levels a classification may differ from the level its band implies. */
  VALIDATE_CEFR_TOLERANCE: IntEnv({ min: 0, max: 5 }).default(1),
  /** Estimated similarity at or above which an item is a near-duplicate of an approved one. */
  VALIDATE_NEAR_DUPLICATE: ratio.default(0.8),
  /** Items validated per transaction. */
  VALIDATE_BATCH: IntEnv({ min: 1, max: 100_000 }).default(500),
  /** Rows per page when streaming release content out of the DB. */
});
export type Env = z.output<typeof env>;

export const ENV_HELP = {
  VALIDATE_LANGUAGE_MIN_CHARS: 'shortest text the language rule judges (default 40)',
  VALIDATE_PARAPHRASE_MAX_OVERLAP:
    'content-word overlap above which a paraphrase copies its source (default 0.8)',
  VALIDATE_PARAPHRASE_MIN_OVERLAP: 'overlap below which a paraphrase drifted from its source (default 0.1)',
  VALIDATE_MIN_BAND_GAIN: 'model answer target band minus source band must be at least this (default 0)',
  VALIDATE_CEFR_TOLERANCE: 'CEFR levels a classification may differ from its band (default 1)',
  VALIDATE_NEAR_DUPLICATE: 'similarity at which an item near-duplicates an approved one (default 0.8)',
  VALIDATE_BATCH: 'items per validation transaction (default 500)',
};
