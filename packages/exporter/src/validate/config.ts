import { createHash } from 'node:crypto';
import type { Env } from '../env.ts';
import type { ValidatedKind } from './item.ts';

/**
 * The quality gate's thresholds and the version they make. Kept apart from the rules themselves so the
 * export phase, which only needs the version, does not load the language and name detectors.
 */
export interface RuleConfig {
  languageMinChars: number;
  paraphraseMaxOverlap: number;
  paraphraseMinOverlap: number;
  minBandGain: number;
  cefrTolerance: number;
  nearDuplicate: number;
  lengths: Record<ValidatedKind, { min: number; max: number }>;
}

export const DEFAULT_LENGTHS: RuleConfig['lengths'] = {
  model_answer: { min: 60, max: 1500 },
  drill: { min: 20, max: 1500 },
  cue_card: { min: 80, max: 800 },
  follow_up: { min: 30, max: 1500 },
  segment: { min: 2, max: 4000 },
};

export function ruleConfigFrom(env: Env): RuleConfig {
  return {
    languageMinChars: env.VALIDATE_LANGUAGE_MIN_CHARS,
    paraphraseMaxOverlap: env.VALIDATE_PARAPHRASE_MAX_OVERLAP,
    paraphraseMinOverlap: env.VALIDATE_PARAPHRASE_MIN_OVERLAP,
    minBandGain: env.VALIDATE_MIN_BAND_GAIN,
    cefrTolerance: env.VALIDATE_CEFR_TOLERANCE,
    nearDuplicate: env.VALIDATE_NEAR_DUPLICATE,
    lengths: DEFAULT_LENGTHS,
  };
}

/** The rules version names the rules and their thresholds: changing a threshold re-validates. */
export function rulesVersion(cfg: RuleConfig): string {
  return `rules-v3-${createHash('sha256').update(JSON.stringify(cfg)).digest('hex').slice(0, 12)}`;
}
