import {
  Band,
  CEFR_FOR_BAND,
  CEFR_LEVELS,
  CueCardOutput,
  DrillsOutput,
  FollowUpsOutput,
  IELTS_PARTS,
  ModelAnswersOutput,
  PRONUNCIATION_FOCUS,
  SEGMENT_KINDS,
  TOPICS,
} from '@pronielts/shared/contracts';
import nlp from 'compromise';
import { franc } from 'franc-min';
import { findPhoneNumbersInText } from 'libphonenumber-js';
import * as linkify from 'linkifyjs';
import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import { z } from 'zod';
import type { RuleConfig } from './config.ts';
import type { Reason, ValidatedKind, ValidationItem } from './item.ts';
import { contentWords, jaccard, normalize } from './text.ts';

/**
 * The rules of the quality gate, as pure functions of an item (duplicates, which need the corpus, are in
 * validate.ts). Each returns the reasons it rejects the item for; an empty list passes.
 */

export { DEFAULT_LENGTHS, type RuleConfig } from './config.ts';

// --- schema ------------------------------------------------------------------------------------------
const ModelAnswerPayload = ModelAnswersOutput.shape.answers.element.extend({
  source_text: z.string().min(1),
  source_band: Band.nullable().optional(),
  question: z.string().nullable().optional(),
});
const SegmentPayload = z.object({
  text: z.string(),
  part: z.enum(IELTS_PARTS),
  kind: z.enum(SEGMENT_KINDS),
  topic: z.enum(TOPICS),
  band: Band,
  cefr: z.enum(CEFR_LEVELS),
  pronunciation_focus: z.array(z.enum(PRONUNCIATION_FOCUS)),
});
export const PAYLOAD_SCHEMAS: Record<ValidatedKind, z.ZodType> = {
  model_answer: ModelAnswerPayload,
  drill: DrillsOutput.shape.drills.element,
  cue_card: CueCardOutput.extend({ topic: z.enum(TOPICS) }),
  follow_up: FollowUpsOutput.extend({ topic: z.enum(TOPICS) }),
  segment: SegmentPayload,
};

export function schemaRule(item: ValidationItem): Reason[] {
  const res = PAYLOAD_SCHEMAS[item.kind].safeParse(item.payload);
  if (res.success) return [];
  const detail = res.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  return [{ rule: 'schema', detail }];
}

// --- length ------------------------------------------------------------------------------------------
export function lengthRule(item: ValidationItem, cfg: RuleConfig): Reason[] {
  const n = item.text.trim().length;
  const { min, max } = cfg.lengths[item.kind];
  if (n === 0) return [{ rule: 'length', detail: 'empty' }];
  if (n < min) return [{ rule: 'length', detail: `${n} characters, minimum ${min}` }];
  if (n > max) return [{ rule: 'length', detail: `${n} characters, maximum ${max}` }];
  return [];
}

// --- language (franc) ----------------------------------------------------------------------------------
const CANDIDATES = [
  'eng',
  'spa',
  'por',
  'fra',
  'deu',
  'ita',
  'nld',
  'tur',
  'pol',
  'rus',
  'vie',
  'ind',
  'cmn',
  'jpn',
  'kor',
  'arb',
  'hin',
  'ukr',
  'swe',
];

export function languageRule(item: ValidationItem, cfg: RuleConfig): Reason[] {
  const text = item.readable.trim();
  if (text.length < cfg.languageMinChars) return [];
  const lang = franc(text, { minLength: cfg.languageMinChars, only: CANDIDATES });
  if (lang === 'eng' || lang === 'und') return [];
  return [{ rule: 'language', detail: `detected ${lang}, expected eng` }];
}

// --- PII -----------------------------------------------------------------------------------------------
/** E-mail addresses written to dodge filters: "anna dot silva at gmail dot com", "x [at] y (dot) org". */
const OBFUSCATED_EMAIL =
  /\b[a-z0-9._%+-]+(?:\s*(?:\.|\(dot\)|\[dot\]|\sdot\s)\s*[a-z0-9_-]+)*\s*(?:@|\(at\)|\[at\]|\{at\}|\sat\s)\s*[a-z0-9-]+(?:\s*(?:\.|\(dot\)|\[dot\]|\sdot\s)\s*[a-z0-9-]+)*\s*(?:\.|\(dot\)|\[dot\]|\sdot\s)\s*(?:com|org|net|edu|gov|io|co|uk|de|fr|es|br|pt|in|au|info|biz)\b/i;
/** Digit runs that look like phone numbers whatever their separators: 9+ digits in a short span. */
const PHONE_LIKE = /(?:\+?\d[\s().-]{0,3}){9,15}/;
const PHONE_COUNTRIES = ['GB', 'US', 'IN', 'AU'] as const;

export function piiRule(item: ValidationItem): Reason[] {
  const text = item.readable;
  const reasons: Reason[] = [];
  const links = linkify.find(text);
  const email = links.find((l) => l.type === 'email');
  if (email) reasons.push({ rule: 'pii', detail: 'contains an e-mail address' });
  else if (OBFUSCATED_EMAIL.test(text))
    reasons.push({ rule: 'pii', detail: 'contains an obfuscated e-mail address' });
  if (links.some((l) => l.type === 'url')) reasons.push({ rule: 'pii', detail: 'contains a URL' });
  const phone =
    PHONE_COUNTRIES.some((c) => findPhoneNumbersInText(text, c).length > 0) ||
    PHONE_LIKE.test(text.replace(/\b(19|20)\d{2}\b/g, ''));
  if (phone) reasons.push({ rule: 'pii', detail: 'contains a phone number' });
  if (item.kind === 'cue_card') {
    // compromise takes any Title Case run for a name ("Art Culture", a topic label); a name counts only
    // with a word it knows as a first or last name, or a title (Mr, Dr).
    const people = (nlp(text).people().out('array') as string[]).filter((p) =>
      nlp(p).has('(#FirstName|#LastName|#Honorific)'),
    );
    if (people.length > 0)
      reasons.push({ rule: 'pii', detail: `names a person (${people.slice(0, 3).join(', ')})` });
  }
  return reasons;
}

// --- profanity (obscenity) -----------------------------------------------------------------------------
const profanity = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });

export function profanityRule(item: ValidationItem): Reason[] {
  const matches = profanity.getAllMatches(item.readable);
  if (matches.length === 0) return [];
  const words = matches.map(
    (m) => englishDataset.getPayloadWithPhraseMetadata(m).phraseMetadata?.originalWord ?? '?',
  );
  return [
    { rule: 'profanity', detail: `contains profanity (${[...new Set(words)].slice(0, 3).join(', ')})` },
  ];
}

// --- paraphrase ----------------------------------------------------------------------------------------
export function paraphraseRule(item: ValidationItem, cfg: RuleConfig): Reason[] {
  if (item.kind !== 'model_answer' || !item.source) return [];
  if (normalize(item.text) === normalize(item.source.text)) {
    return [{ rule: 'paraphrase', detail: 'identical to its source' }];
  }
  const overlap = jaccard(contentWords(item.text), contentWords(item.source.text));
  if (overlap > cfg.paraphraseMaxOverlap) {
    return [
      {
        rule: 'paraphrase',
        detail: `copies its source (content-word overlap ${overlap.toFixed(2)} > ${cfg.paraphraseMaxOverlap})`,
      },
    ];
  }
  if (overlap < cfg.paraphraseMinOverlap) {
    return [
      {
        rule: 'paraphrase',
        detail: `drifted from its source (content-word overlap ${overlap.toFixed(2)} < ${cfg.paraphraseMinOverlap})`,
      },
    ];
  }
  return [];
}

// --- band consistency ----------------------------------------------------------------------------------
export function bandRule(item: ValidationItem, cfg: RuleConfig): Reason[] {
  if (item.kind === 'model_answer' && item.targetBand != null && item.source?.band != null) {
    if (item.targetBand < item.source.band + cfg.minBandGain) {
      return [
        {
          rule: 'band',
          detail: `target band ${item.targetBand} is below the source's band ${item.source.band} (+${cfg.minBandGain})`,
        },
      ];
    }
  }
  if (item.kind === 'segment' && item.band != null && item.cefr) {
    const expected = CEFR_LEVELS.indexOf(CEFR_FOR_BAND(item.band));
    const got = CEFR_LEVELS.indexOf(item.cefr as (typeof CEFR_LEVELS)[number]);
    if (got < 0 || Math.abs(got - expected) > cfg.cefrTolerance) {
      return [
        {
          rule: 'band',
          detail: `CEFR ${item.cefr} does not match band ${item.band} (expected about ${CEFR_FOR_BAND(item.band)})`,
        },
      ];
    }
  }
  return [];
}

// --- repetition: degenerate generated text --------------------------------------------------------------
/** Words in a row that, found three times in one item, mark it as looping ("I live in the city, I live…"). */
const LOOP_WORDS = 4;

/**
 * A generated item that repeats itself: the same line twice (a follow-up asked twice, a bullet written
 * twice), or the same few words three times (a model stuck in a loop). Speech is left alone: a candidate
 * repeating themselves is data, not a defect.
 */
export function repetitionRule(item: ValidationItem): Reason[] {
  if (item.itemType !== 'generated') return [];
  const lines = item.readable.split('\n').map(normalize).filter(Boolean);
  const repeated = lines.find((l, i) => lines.indexOf(l) !== i);
  if (repeated) return [{ rule: 'repetition', detail: `repeats a line ("${repeated.slice(0, 60)}")` }];
  const words = normalize(item.readable).split(' ').filter(Boolean);
  const seen = new Map<string, number>();
  for (let i = 0; i + LOOP_WORDS <= words.length; i++) {
    const run = words.slice(i, i + LOOP_WORDS).join(' ');
    const n = (seen.get(run) ?? 0) + 1;
    if (n === 3) return [{ rule: 'repetition', detail: `repeats "${run}" three times` }];
    seen.set(run, n);
  }
  return [];
}

/** Every rule that needs only the item itself. */
export function itemRules(item: ValidationItem, cfg: RuleConfig): Reason[] {
  const schema = schemaRule(item);
  // A payload that breaks its schema is not looked at further: the other rules assume its shape.
  if (schema.length > 0) return schema;
  return [
    ...lengthRule(item, cfg),
    ...languageRule(item, cfg),
    ...piiRule(item),
    ...profanityRule(item),
    ...repetitionRule(item),
    ...paraphraseRule(item, cfg),
    ...bandRule(item, cfg),
  ];
}
