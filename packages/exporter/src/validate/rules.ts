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
import type { Reason, RuleId, ValidatedKind, ValidationItem, ValidationStatus } from './item.ts';
import { contentWords, jaccard, mtld, normalize, sentences, words } from './text.ts';

/**
 * The rules of the quality gate, as pure functions of an item (duplicates, which need the corpus, are in
 * validate.ts), gathered in one table (`RULES`) that docs/quality-gate.md describes row by row. Each rule
 * returns the reasons it fires for; an empty list passes. A rule's outcome is "reject" (the item is
 * never published) or "review" (published, flagged needs_review).
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

// --- band -------------------------------------------------------------------------------------------
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
  return [];
}

export function cefrBandRule(item: ValidationItem, cfg: RuleConfig): Reason[] {
  if (item.kind !== 'segment' || item.band == null || !item.cefr) return [];
  const expected = CEFR_LEVELS.indexOf(CEFR_FOR_BAND(item.band));
  const got = CEFR_LEVELS.indexOf(item.cefr as (typeof CEFR_LEVELS)[number]);
  if (got >= 0 && Math.abs(got - expected) <= cfg.cefrTolerance) return [];
  return [
    {
      rule: 'cefr_band',
      detail: `CEFR ${item.cefr} does not match band ${item.band} (expected about ${CEFR_FOR_BAND(item.band)})`,
    },
  ];
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
  const ws = normalize(item.readable).split(' ').filter(Boolean);
  const seen = new Map<string, number>();
  for (let i = 0; i + LOOP_WORDS <= ws.length; i++) {
    const run = ws.slice(i, i + LOOP_WORDS).join(' ');
    const n = (seen.get(run) ?? 0) + 1;
    if (n === 3) return [{ rule: 'repetition', detail: `repeats "${run}" three times` }];
    seen.set(run, n);
  }
  return [];
}

// --- copied_prompt: text lifted from the transcript the prompt carried ----------------------------------
/** Words in a row shared with the prompt's data that make a line a copy rather than new material. */
const COPY_WORDS = 7;

function sharedRun(a: string[], b: string[], n: number): string | null {
  const grams = new Set<string>();
  for (let i = 0; i + n <= b.length; i++) grams.add(b.slice(i, i + n).join(' '));
  for (let i = 0; i + n <= a.length; i++) {
    const g = a.slice(i, i + n).join(' ');
    if (grams.has(g)) return g;
  }
  return null;
}

/**
 * A drill, cue card or follow-up question that copies the transcript the prompt gave the model: a line
 * sharing seven words in a row with it, or a question that is one of the examiner's questions again.
 * (Model answers paraphrase their source by design: the `paraphrase` rule judges them.)
 */
export function copiedPromptRule(item: ValidationItem): Reason[] {
  const data = (item.promptData ?? []).filter(Boolean);
  if (data.length === 0) return [];
  const dataWords = data.map(words);
  for (const line of item.text.split('\n').filter(Boolean)) {
    const lw = words(line);
    for (const [i, dw] of dataWords.entries()) {
      const run = sharedRun(lw, dw, COPY_WORDS);
      if (run) return [{ rule: 'copied_prompt', detail: `copies the transcript ("${run}")` }];
      if (
        item.kind !== 'drill' &&
        lw.length > 0 &&
        jaccard(contentWords(line), contentWords(data[i] ?? '')) >= 0.8
      )
        return [{ rule: 'copied_prompt', detail: `repeats the transcript's "${line.slice(0, 60)}"` }];
    }
  }
  return [];
}

// --- form: each kind's shape ----------------------------------------------------------------------------
/** Words a question opens with (after an optional lead-in clause ending in a comma). */
const INTERROGATIVE =
  /^(what|why|how|when|where|who|whom|whose|which|do|does|did|is|are|was|were|am|can|could|would|will|should|shall|have|has|had|may|might|must|isn't|aren't|don't|doesn't|didn't|wouldn't|won't|can't|in what|to what)\b/i;

/** Whether a sentence reads as a question: it opens, or a clause after a comma opens, interrogatively. */
export function isQuestion(q: string): boolean {
  const t = q.trim();
  if (!t.endsWith('?')) return false;
  const clauses = [t, ...t.split(',').slice(1)].map((c) => c.trim().replace(/^(and|so|then|but|or)\s+/i, ''));
  return clauses.some((c) => INTERROGATIVE.test(c));
}

export function questionFormRule(item: ValidationItem): Reason[] {
  if (item.kind !== 'follow_up') return [];
  const bad = (item.payload.questions as string[]).filter((q) => !isQuestion(q));
  if (bad.length === 0) return [];
  return [
    {
      rule: 'question_form',
      detail: `${bad.length} of ${(item.payload.questions as string[]).length} are not questions ("${bad[0]?.slice(0, 60)}")`,
    },
  ];
}

export function cueCardFormRule(item: ValidationItem): Reason[] {
  if (item.kind !== 'cue_card') return [];
  const p = item.payload as { prompt: string; bullet_points: string[]; closing_prompt: string };
  const out: Reason[] = [];
  if (!/^describe\b/i.test(p.prompt.trim()))
    out.push({
      rule: 'cue_card_form',
      detail: `the prompt does not start with "Describe" ("${p.prompt.slice(0, 60)}")`,
    });
  const closing = normalize(p.closing_prompt);
  if (closing === normalize(p.prompt) || p.bullet_points.some((b) => normalize(b) === closing))
    out.push({ rule: 'cue_card_form', detail: 'the closing line repeats the prompt or a bullet' });
  return out;
}

type Focus = (typeof PRONUNCIATION_FOCUS)[number];
/**
 * How a drill shows it practises its focus: words its instruction or tip must use, and for sound foci
 * a pattern at least half of its items must contain.
 */
export const FOCUS_PRACTICE: Record<Focus, { mentions: RegExp; items?: RegExp }> = {
  word_stress: { mentions: /stress|syllable/i },
  sentence_stress: { mentions: /stress|emphasi|important word/i },
  intonation: { mentions: /intonation|rising|falling|rise|fall|pitch|tone/i },
  th_sounds: { mentions: /\bth\b|"th"|'th'|th sound|θ|ð|tongue/i, items: /th/i },
  vowel_length: { mentions: /vowel|long|short/i },
  short_long_vowels: { mentions: /vowel|long|short/i },
  final_consonants: { mentions: /final|end|last sound|consonant/i },
  consonant_clusters: { mentions: /cluster|consonant/i, items: /[bcdfgkpt][lr]|s[ptkmnlw]|[^aeiou\s\W]{3}/i },
  linking: { mentions: /link|connect|join|run together|smooth/i },
  weak_forms: { mentions: /weak|unstress|reduc|schwa/i },
  schwa: { mentions: /schwa|ə|weak|unstress|reduc/i },
  r_l_distinction: { mentions: /\br\b|\bl\b|"r"|"l"|'r'|'l'|\/r\/|\/l\//i, items: /[rl]/i },
  v_w_distinction: { mentions: /\bv\b|\bw\b|"v"|"w"|'v'|'w'|\/v\/|\/w\//i, items: /[vw]/i },
  ed_endings: { mentions: /-ed|\bed\b|"ed"|'ed'|past/i, items: /\p{L}ed\b/iu },
  s_endings: { mentions: /-s|-es|\bs\b|"s"|'s'|plural|third person|ending/i, items: /\p{L}s\b/iu },
  chunking_pausing: { mentions: /chunk|pause|group|break|breath/i },
};

export function drillFocusRule(item: ValidationItem): Reason[] {
  if (item.kind !== 'drill') return [];
  const p = item.payload as { focus: Focus; instruction: string; items: string[]; tip: string };
  const how = FOCUS_PRACTICE[p.focus];
  if (!how) return [];
  if (!how.mentions.test(`${p.instruction}\n${p.tip}`))
    return [{ rule: 'drill_focus', detail: `names ${p.focus} but its instruction and tip never mention it` }];
  if (how.items) {
    const hits = p.items.filter((i) => how.items?.test(i)).length;
    if (hits * 2 < p.items.length)
      return [
        {
          rule: 'drill_focus',
          detail: `names ${p.focus} but only ${hits} of ${p.items.length} items practise it`,
        },
      ];
  }
  return [];
}

/** Words that join clauses: a rough count of sentence structures beyond the simple sentence. */
const LINKERS =
  /\b(because|although|though|while|whereas|which|who|whose|when|whenever|if|unless|since|so that|however|moreover|therefore|instead|despite|as well as|not only|even though|in order to|rather than|whether)\b/gi;

/** The three measures of a model answer's richness: length, lexical diversity, sentence variety. */
export function richness(text: string) {
  return {
    words: words(text).length,
    diversity: mtld(text),
    variety:
      new Set((text.match(LINKERS) ?? []).map((l) => l.toLowerCase())).size +
      Math.min(3, sentences(text).length),
  };
}

/**
 * A model answer for a higher band that is poorer than one for a lower band of the same source on at
 * least two of the three measures (fewer words, lower MTLD, fewer sentence structures).
 */
export function bandRichnessRule(item: ValidationItem): Reason[] {
  if (item.kind !== 'model_answer' || item.targetBand == null) return [];
  const mine = richness(item.text);
  for (const s of item.siblings ?? []) {
    if (s.band >= item.targetBand) continue;
    const other = richness(s.text);
    const poorer = (['words', 'diversity', 'variety'] as const).filter((k) => mine[k] < other[k]);
    if (poorer.length >= 2) {
      return [
        {
          rule: 'band_richness',
          detail: `band ${item.targetBand} is poorer than the band ${s.band} answer in ${poorer.join(' and ')} (${poorer
            .map(
              (k) =>
                `${mine[k].toFixed(k === 'diversity' ? 1 : 0)} < ${other[k].toFixed(k === 'diversity' ? 1 : 0)}`,
            )
            .join(', ')})`,
        },
      ];
    }
  }
  return [];
}

// --- consistency of a classification with what was measured --------------------------------------------
export function turnKindRule(item: ValidationItem): Reason[] {
  if (item.kind !== 'segment' || !item.turn) return [];
  const kind = item.payload.kind;
  const clash =
    (item.turn === 'answer' && kind === 'examiner_question') ||
    (item.turn === 'question' && kind === 'candidate_answer');
  if (!clash) return [];
  return [
    {
      rule: 'turn_kind',
      detail: `the LLM says ${kind}; the segmenter measured ${item.turn === 'answer' ? 'an answer' : 'a question'}`,
    },
  ];
}

/** Band limits the text itself makes implausible, for candidate answers. */
const SHORT_ANSWER_WORDS = 15;
const HIGH_BAND = 7;
const LOW_BAND = 3;

export function bandPlausibilityRule(item: ValidationItem): Reason[] {
  if (item.kind !== 'segment' || item.band == null || item.turn !== 'answer') return [];
  const n = words(item.text).length;
  if (item.band >= HIGH_BAND && n < SHORT_ANSWER_WORDS) {
    return [{ rule: 'band_plausibility', detail: `band ${item.band} on a ${n}-word answer` }];
  }
  const distinct = contentWords(item.text).size;
  // Band 3 and below is isolated words and memorised phrases; whisper often writes a fluent answer as
  // one comma-spliced sentence, so length and vocabulary decide, not the sentence count.
  if (item.band <= LOW_BAND && n >= 20 && distinct >= 10) {
    return [
      {
        rule: 'band_plausibility',
        detail: `band ${item.band} on a ${n}-word answer with ${distinct} distinct content words`,
      },
    ];
  }
  return [];
}

/**
 * Words that point to a topic, matched as whole words with a common inflection ("cook" finds "cooks",
 * "cooking", "cooked"; "hot" does not find "hotel"); a trailing "*" matches any ending ("recycl*").
 */
export const TOPIC_WORDS: Record<(typeof TOPICS)[number], string[]> = {
  hometown: [
    'hometown',
    'town',
    'city',
    'village',
    'grew up',
    'born',
    'neighbourhood',
    'neighborhood',
    'live in',
    'come from',
  ],
  home_accommodation: [
    'house',
    'flat',
    'apartment',
    'room',
    'bedroom',
    'kitchen',
    'garden',
    'rent',
    'live in',
  ],
  work: ['job', 'work', 'office', 'colleague', 'boss', 'career', 'salary', 'company', 'employ*'],
  studies: [
    'study',
    'studies',
    'student',
    'university',
    'college',
    'course',
    'subject',
    'degree',
    'exam',
    'lecture',
  ],
  family: [
    'family',
    'parent',
    'mother',
    'father',
    'brother',
    'sister',
    'grandparent',
    'grandmother',
    'grandfather',
    'cousin',
    'child',
  ],
  friends: ['friend', 'friendship', 'mate', 'together', 'classmate'],
  hobbies_leisure: ['hobby', 'hobbies', 'free time', 'spare time', 'weekend', 'relax', 'enjoy'],
  sport_exercise: [
    'sport',
    'football',
    'tennis',
    'gym',
    'exercise',
    'run',
    'swim',
    'cycling',
    'team',
    'match',
    'fit',
  ],
  food_cooking: [
    'food',
    'cook',
    'eat',
    'meal',
    'restaurant',
    'dish',
    'recipe',
    'pasta',
    'dinner',
    'lunch',
    'breakfast',
  ],
  travel_holidays: [
    'travel',
    'trip',
    'holiday',
    'journey',
    'abroad',
    'tourist',
    'visit',
    'hotel',
    'vacation',
  ],
  transport: [
    'bus',
    'train',
    'car',
    'bicycle',
    'bike',
    'traffic',
    'transport',
    'railway',
    'station',
    'drive',
  ],
  shopping: ['shop', 'buy', 'store', 'online', 'price', 'mall', 'market', 'cheap', 'expensive'],
  technology: ['technology', 'phone', 'computer', 'internet', 'app', 'screen', 'device', 'digital', 'online'],
  media_internet: ['internet', 'social media', 'website', 'news', 'online', 'video', 'post'],
  books_reading: ['book', 'read', 'novel', 'story', 'stories', 'author', 'library', 'magazine'],
  music: ['music', 'song', 'sing', 'band', 'concert', 'instrument', 'guitar', 'piano'],
  films_tv: ['film', 'movie', 'cinema', 'television', 'tv', 'series', 'watch', 'actor'],
  art_culture: ['art', 'museum', 'gallery', 'paint', 'culture', 'exhibition', 'theatre', 'theater', 'artist'],
  nature_environment: [
    'environment',
    'nature',
    'pollution',
    'plastic',
    'recycl*',
    'climate',
    'energy',
    'emission',
    'tree',
    'forest',
    'river',
  ],
  weather_seasons: [
    'weather',
    'rain',
    'snow',
    'sun',
    'winter',
    'summer',
    'season',
    'wind',
    'cold',
    'hot',
    'mild',
  ],
  health: ['health', 'healthy', 'doctor', 'hospital', 'ill', 'sick', 'diet', 'sleep', 'stress'],
  education: ['education', 'school', 'teacher', 'teach', 'learn', 'university', 'skill', 'student', 'class'],
  childhood: ['child', 'childhood', 'young', 'kid', 'grew up', 'little'],
  celebrations_traditions: [
    'festival',
    'celebrat*',
    'tradition',
    'birthday',
    'wedding',
    'party',
    'holiday',
    'new year',
  ],
  people_description: ['person', 'people', 'friend', 'teacher', 'kind', 'patient', 'influenc*', 'admire'],
  places_description: ['place', 'park', 'building', 'city', 'beach', 'mountain', 'lake', 'square'],
  objects_possessions: ['object', 'gift', 'present', 'own', 'possession', 'bought', 'keep'],
  events_experiences: ['event', 'experience', 'memorable', 'happened', 'remember', 'once', 'ago'],
  plans_ambitions: ['plan', 'future', 'ambition', 'goal', 'hope', 'dream', 'career', 'want to'],
  society_change: ['society', 'government', 'change', 'people', 'generation', 'responsib*', 'law', 'public'],
  other: [],
};

const TOPIC_PATTERNS = new Map(
  Object.entries(TOPIC_WORDS).map(([topic, list]) => [
    topic,
    list.map((w) => ({
      word: w.replace(/\*$/, ''),
      re: new RegExp(
        w.endsWith('*')
          ? `\\b${w.slice(0, -1)}\\p{L}*`
          : `\\b${w}(?:s|es|ed|d|ing|er|ers|y|ies|ly|[a-z](?:ing|ed|er))?\\b`,
        'iu',
      ),
    })),
  ]),
);

function topicHits(text: string, topic: (typeof TOPICS)[number]): string[] {
  return (TOPIC_PATTERNS.get(topic) ?? []).filter((p) => p.re.test(text)).map((p) => p.word);
}

/**
 * A segment whose topic none of the topic's words support while another topic's words do: "art_culture"
 * on "I live in a small apartment near the city centre", "hometown" on "Which sports are popular in your
 * country?". A review, not a rejection: one word is thin evidence, and a reviewer decides.
 */
export function topicWordsRule(item: ValidationItem): Reason[] {
  if (item.kind !== 'segment') return [];
  const topic = item.payload.topic as (typeof TOPICS)[number];
  if (topic === 'other' || topicHits(item.text, topic).length > 0) return [];
  const best = TOPICS.map((t) => ({ t, hits: topicHits(item.text, t) })).sort(
    (a, b) => b.hits.length - a.hits.length,
  )[0];
  if (!best || best.hits.length === 0) return [];
  return [
    {
      rule: 'topic_words',
      detail: `topic ${topic}, but its words point to ${best.t} (${best.hits.slice(0, 3).join(', ')})`,
    },
  ];
}

// --- the table ------------------------------------------------------------------------------------------
type Applies = 'all' | 'generated' | readonly ValidatedKind[];

export interface Rule {
  id: RuleId;
  /** What the rule is for, in a reviewer's words. */
  reason: string;
  applies: Applies;
  /** reject: never published. review: published and flagged needs_review. */
  outcome: 'reject' | 'review';
  check?: (item: ValidationItem, cfg: RuleConfig) => Reason[];
}

/**
 * Every rule of the gate, in the order it runs. `duplicate` has no check here: it needs the corpus
 * (validate.ts) and runs only on items every other rule passed.
 */
export const RULES: readonly Rule[] = [
  {
    id: 'schema',
    reason: 'the payload breaks its schema',
    applies: 'all',
    outcome: 'reject',
    check: schemaRule,
  },
  {
    id: 'length',
    reason: 'empty, too short or too long',
    applies: 'all',
    outcome: 'reject',
    check: lengthRule,
  },
  { id: 'language', reason: 'not English', applies: 'all', outcome: 'reject', check: languageRule },
  {
    id: 'pii',
    reason: 'personal data (e-mail, URL, phone, a named person)',
    applies: 'all',
    outcome: 'reject',
    check: piiRule,
  },
  { id: 'profanity', reason: 'profanity', applies: 'all', outcome: 'reject', check: profanityRule },
  {
    id: 'repetition',
    reason: 'degenerate text: a repeated line or a looping phrase',
    applies: 'generated',
    outcome: 'reject',
    check: repetitionRule,
  },
  {
    id: 'copied_prompt',
    reason: 'copies the transcript the prompt carried instead of writing new material',
    applies: ['drill', 'cue_card', 'follow_up'],
    outcome: 'reject',
    check: copiedPromptRule,
  },
  {
    id: 'question_form',
    reason: 'a follow-up that is not a question',
    applies: ['follow_up'],
    outcome: 'reject',
    check: questionFormRule,
  },
  {
    id: 'cue_card_form',
    reason: 'a cue card without a "Describe …" prompt or with a closing line that repeats',
    applies: ['cue_card'],
    outcome: 'reject',
    check: cueCardFormRule,
  },
  {
    id: 'drill_focus',
    reason: 'a drill that does not practise the focus it names',
    applies: ['drill'],
    outcome: 'reject',
    check: drillFocusRule,
  },
  {
    id: 'paraphrase',
    reason: 'a model answer identical to, copying or drifting from its source',
    applies: ['model_answer'],
    outcome: 'reject',
    check: paraphraseRule,
  },
  {
    id: 'band',
    reason: "a model answer targeting a band below its source's",
    applies: ['model_answer'],
    outcome: 'reject',
    check: bandRule,
  },
  {
    id: 'band_richness',
    reason: 'a higher-band model answer poorer than a lower-band one',
    applies: ['model_answer'],
    outcome: 'reject',
    check: bandRichnessRule,
  },
  {
    id: 'turn_kind',
    reason: "the LLM's kind contradicts the segmenter's question/answer turn",
    applies: ['segment'],
    outcome: 'review',
    check: turnKindRule,
  },
  {
    id: 'band_plausibility',
    reason: 'a band the length and richness of the answer make implausible',
    applies: ['segment'],
    outcome: 'review',
    check: bandPlausibilityRule,
  },
  {
    id: 'cefr_band',
    reason: 'a CEFR level that does not match the band',
    applies: ['segment'],
    outcome: 'review',
    check: cefrBandRule,
  },
  {
    id: 'topic_words',
    reason: "a topic the segment's words do not support",
    applies: ['segment'],
    outcome: 'review',
    check: topicWordsRule,
  },
  {
    id: 'fragment',
    reason: 'a segment too short to stand alone',
    applies: ['segment'],
    outcome: 'review',
    check: fragmentRule,
  },
  {
    id: 'unlabelled',
    reason: 'a segment the classifier refused to label: published without labels',
    applies: ['segment'],
    outcome: 'review',
    check: unlabelledRule,
  },
  {
    id: 'duplicate',
    reason: 'the same or nearly the same text as an approved item',
    applies: 'all',
    outcome: 'reject',
  },
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

const applies = (rule: Rule, item: ValidationItem) =>
  rule.applies === 'all' ||
  (rule.applies === 'generated' ? item.itemType === 'generated' : rule.applies.includes(item.kind));

/** Fewer words than a question or an answer can have: the segmenter cut a turn in the wrong place. */
export const FRAGMENT_MAX_WORDS = 2;

export function fragmentRule(item: ValidationItem): Reason[] {
  const n = words(item.text).length;
  if (item.kind !== 'segment' || n > FRAGMENT_MAX_WORDS) return [];
  return [
    {
      rule: 'fragment',
      detail: `${n} word${n === 1 ? '' : 's'}: too short to stand alone (a turn cut in the wrong place?)`,
    },
  ];
}

/**
 * A segment whose classification the classifier refused (its labels broke their schema, or the model
 * never answered validly): the speech is real and published, without labels, flagged for review.
 */
export function unlabelledRule(item: ValidationItem): Reason[] {
  const refused = item.kind === 'segment' ? item.payload.classify_rejected : null;
  if (typeof refused !== 'string' || !refused) return [];
  return [{ rule: 'unlabelled', detail: `the classifier refused its labels (${refused.slice(0, 160)})` }];
}

/** Every rule that needs only the item itself. */
export function itemRules(item: ValidationItem, cfg: RuleConfig): Reason[] {
  // An unlabelled segment has no labels to judge; its text is checked like any segment's.
  const unlabelled = unlabelledRule(item);
  if (unlabelled.length > 0) {
    const text = [lengthRule, languageRule, piiRule, profanityRule].flatMap((rule) => rule(item, cfg));
    return [...unlabelled, ...text];
  }
  const schema = schemaRule(item);
  // A payload that breaks its schema is not looked at further: the other rules assume its shape.
  if (schema.length > 0) return schema;
  return RULES.filter((r) => r.id !== 'schema' && r.check && applies(r, item)).flatMap(
    (r) => r.check?.(item, cfg) ?? [],
  );
}

/** What the reasons make of an item: rejected if a reject rule fired, needs_review if only review rules did. */
export function statusOf(reasons: Reason[]): ValidationStatus {
  if (reasons.some((r) => BY_ID.get(r.rule)?.outcome !== 'review')) return 'rejected';
  return reasons.length > 0 ? 'needs_review' : 'approved';
}
