/** What the quality gate judges: a generated item or a classified segment, with its context. */
export type ValidatedKind = 'model_answer' | 'drill' | 'cue_card' | 'follow_up' | 'segment';

export interface ValidationItem {
  id: string;
  itemType: 'generated' | 'classification';
  kind: ValidatedKind;
  payload: Record<string, unknown>;
  /** The text that must be present and unique (the answer, the card, the questions, the segment). */
  text: string;
  /** Everything a learner would read: checked for language, PII and profanity. */
  readable: string;
  /** For model answers: the candidate answer it paraphrases and that answer's band. */
  source?: { text: string; band: number | null };
  targetBand?: number | null;
  /** For classifications. */
  band?: number | null;
  cefr?: string | null;
  /** For classifications: the segmenter's turn, measured from the audio (a fact; the LLM's kind is not). */
  turn?: 'question' | 'answer' | null;
  /**
   * For generated items: the transcript text the prompt gave the model (a drill's answer, the examiner
   * questions of a cue card's or follow-ups' topic), which the item must not copy.
   */
  promptData?: string[];
  /** For model answers: the other answers written for the same source, with their target bands. */
  siblings?: Array<{ band: number; text: string }>;
}

export type RuleId =
  | 'schema'
  | 'length'
  | 'language'
  | 'pii'
  | 'profanity'
  | 'repetition'
  | 'copied_prompt'
  | 'question_form'
  | 'cue_card_form'
  | 'drill_focus'
  | 'paraphrase'
  | 'band'
  | 'band_richness'
  | 'turn_kind'
  | 'band_plausibility'
  | 'cefr_band'
  | 'topic_words'
  | 'fragment'
  | 'unlabelled'
  | 'duplicate';

export interface Reason {
  rule: RuleId;
  detail: string;
}

/**
 * What a validation ends as: approved; rejected (a rule whose outcome is "reject" fired: never
 * published); or needs_review (only "review" rules fired: published, flagged for a reviewer).
 */
export type ValidationStatus = 'approved' | 'rejected' | 'needs_review';

/** Builds the readable text of a generated item's payload, per kind. */
export function textsOf(
  kind: ValidatedKind,
  payload: Record<string, unknown>,
): { text: string; readable: string } {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  switch (kind) {
    case 'model_answer': {
      const ups = Array.isArray(payload.vocabulary_upgrades)
        ? (payload.vocabulary_upgrades as Array<Record<string, unknown>>).map(
            (u) => `${str(u.to)} ${str(u.note)}`,
          )
        : [];
      return { text: str(payload.text), readable: [str(payload.text), ...ups].join('\n') };
    }
    case 'drill':
      return {
        text: [str(payload.instruction), ...list(payload.items)].join('\n'),
        readable: [str(payload.instruction), ...list(payload.items), str(payload.tip)].join('\n'),
      };
    case 'cue_card': {
      const t = [str(payload.prompt), ...list(payload.bullet_points), str(payload.closing_prompt)].join('\n');
      return { text: t, readable: t };
    }
    case 'follow_up': {
      const t = list(payload.questions).join('\n');
      return { text: t, readable: t };
    }
    case 'segment':
      return { text: str(payload.text), readable: str(payload.text) };
  }
}
