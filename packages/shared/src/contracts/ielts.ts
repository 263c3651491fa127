import { z } from 'zod';

/**
 * The IELTS vocabulary the LLM stages speak, documented in docs/ielts-taxonomy.md. Lists are closed:
 * LLM answers must pick from them (the JSON Schema sent to Ollama enumerates them), so downstream
 * statistics and validation never meet free-form labels.
 */

export const IELTS_PARTS = ['1', '2', '3', 'unknown'] as const;
export const SEGMENT_KINDS = ['examiner_question', 'candidate_answer', 'cue_card', 'other'] as const;
export const CEFR_LEVELS = ['A1', 'A2', 'B1', 'B2', 'C1', 'C2'] as const;

/** Common IELTS Speaking topics (Part 1 themes and Part 2/3 subjects). */
export const TOPICS = [
  'hometown',
  'home_accommodation',
  'work',
  'studies',
  'family',
  'friends',
  'hobbies_leisure',
  'sport_exercise',
  'food_cooking',
  'travel_holidays',
  'transport',
  'shopping',
  'technology',
  'media_internet',
  'books_reading',
  'music',
  'films_tv',
  'art_culture',
  'nature_environment',
  'weather_seasons',
  'health',
  'education',
  'childhood',
  'celebrations_traditions',
  'people_description',
  'places_description',
  'objects_possessions',
  'events_experiences',
  'plans_ambitions',
  'society_change',
  'other',
] as const;

/** Pronunciation features a segment gives evidence for (IELTS band descriptors: pronunciation). */
export const PRONUNCIATION_FOCUS = [
  'word_stress',
  'sentence_stress',
  'intonation',
  'th_sounds',
  'vowel_length',
  'short_long_vowels',
  'final_consonants',
  'consonant_clusters',
  'linking',
  'weak_forms',
  'schwa',
  'r_l_distinction',
  'v_w_distinction',
  'ed_endings',
  's_endings',
  'chunking_pausing',
] as const;

/** 0 to 9 in steps of 0.5. */
export const BAND_VALUES = [
  0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9,
] as const;
/**
 * A band, as an enumeration rather than a bounded number: the JSON Schema sent to Ollama then lists the
 * 19 values, and its grammar can only produce one of them. Ollama's grammar (llama.cpp's
 * json-schema-to-grammar) ignores `minimum`/`maximum`/`multipleOf` on numbers, so a bounded number let a
 * model answer 6.3 or 8712 (seen with the tiny test model, docs/decisions/0012-real-ollama-in-tests.md).
 */
export const Band = z.literal(BAND_VALUES);
export type Band = z.infer<typeof Band>;

/** A model's confidence, 0 to 1 in steps of 0.1: enumerated for the same reason as Band. */
export const CONFIDENCE_VALUES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;
export const Confidence = z.literal(CONFIDENCE_VALUES);

export const CEFR_FOR_BAND = (band: number): (typeof CEFR_LEVELS)[number] =>
  band >= 8.5 ? 'C2' : band >= 7 ? 'C1' : band >= 5.5 ? 'B2' : band >= 4 ? 'B1' : band >= 3 ? 'A2' : 'A1';

/** Text compared for sameness: lowercase words, punctuation and spacing ignored. */
const sameText = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/**
 * An array whose elements are distinct (`key` says what counts as the same). The grammar Ollama
 * constrains answers with cannot express this, so it is checked after decoding: a repeat is a schema
 * violation, repaired once and else recorded as a rejection.
 */
function distinct<T extends z.ZodType>(arr: z.ZodArray<T>, key: (v: z.output<T>) => string, what: string) {
  return arr.refine((xs) => new Set(xs.map(key)).size === xs.length, `holds the same ${what} twice`);
}

/** What the classifier asks the model for (string lengths bounded so constrained generation ends). */
export const ClassificationOutput = z.object({
  part: z.enum(IELTS_PARTS),
  kind: z.enum(SEGMENT_KINDS),
  topic: z.enum(TOPICS),
  band: Band,
  cefr: z.enum(CEFR_LEVELS),
  pronunciation_focus: distinct(z.array(z.enum(PRONUNCIATION_FOCUS)).max(4), (f) => f, 'focus'),
  confidence: Confidence,
  rationale: z.string().min(1).max(300),
  suspicious_instructions: z.boolean(),
});
export type ClassificationOutput = z.infer<typeof ClassificationOutput>;

export const VocabularyUpgrade = z.object({
  from: z.string().min(1).max(60),
  to: z.string().min(1).max(60),
  note: z.string().max(160),
});

/** Band-targeted model answers for one candidate answer. */
export const ModelAnswersOutput = z.object({
  /** One answer per target band: two answers for one band, or the same text twice, are a violation. */
  answers: distinct(
    distinct(
      z
        .array(
          z.object({
            target_band: Band,
            text: z.string().min(20).max(1200),
            vocabulary_upgrades: z.array(VocabularyUpgrade).max(8),
          }),
        )
        .min(1)
        .max(4),
      (a) => String(a.target_band),
      'target band',
    ),
    (a) => sameText(a.text),
    'answer',
  ),
  suspicious_instructions: z.boolean(),
});
export type ModelAnswersOutput = z.infer<typeof ModelAnswersOutput>;

export const DrillsOutput = z.object({
  drills: distinct(
    z
      .array(
        z.object({
          focus: z.enum(PRONUNCIATION_FOCUS),
          instruction: z.string().min(10).max(300),
          items: distinct(z.array(z.string().min(1).max(120)).min(3).max(8), sameText, 'item'),
          tip: z.string().max(300),
        }),
      )
      .min(1)
      .max(4),
    (d) => sameText(d.items.join(' ')),
    'drill',
  ),
  suspicious_instructions: z.boolean(),
});
export type DrillsOutput = z.infer<typeof DrillsOutput>;

export const CueCardOutput = z.object({
  prompt: z.string().min(10).max(160),
  bullet_points: distinct(z.array(z.string().min(3).max(120)).min(3).max(4), sameText, 'bullet point'),
  closing_prompt: z.string().min(3).max(160),
});
export type CueCardOutput = z.infer<typeof CueCardOutput>;

export const FollowUpsOutput = z.object({
  /** Questions: each ends with a question mark (the grammar holds the model to it), no two alike. */
  questions: distinct(
    z
      .array(
        z
          .string()
          .min(10)
          .max(200)
          .regex(/^[^?]*\?$/, 'is not a question (one sentence ending with "?")'),
      )
      .min(3)
      .max(6),
    sameText,
    'question',
  ),
});
export type FollowUpsOutput = z.infer<typeof FollowUpsOutput>;
