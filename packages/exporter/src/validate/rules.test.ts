import { describe, expect, it } from 'vitest';
import type { ValidationItem } from './item.ts';
import { textsOf } from './item.ts';
import { DEFAULT_LENGTHS, isQuestion, itemRules, RULES, type RuleConfig, statusOf } from './rules.ts';
import { bandHashes, estimatedSimilarity, exactHash, minhash, mtld } from './text.ts';

const cfg: RuleConfig = {
  languageMinChars: 40,
  paraphraseMaxOverlap: 0.8,
  paraphraseMinOverlap: 0.1,
  minBandGain: 0,
  cefrTolerance: 1,
  nearDuplicate: 0.8,
  lengths: DEFAULT_LENGTHS,
};

const SOURCE = 'I am nurse in big hospital. It is good job because I help people every day and I like it.';
const GOOD_ANSWER =
  'I work as a nurse in a large hospital, which I find genuinely rewarding because I get to help people every single day.';

function modelAnswer(
  text: string,
  over: Partial<{ target_band: number; source_band: number; source_text: string }> = {},
): ValidationItem {
  const payload = {
    target_band: over.target_band ?? 7,
    text,
    vocabulary_upgrades: [{ from: 'good', to: 'rewarding', note: 'more precise' }],
    source_text: over.source_text ?? SOURCE,
    source_band: over.source_band ?? 5,
    question: 'What do you do?',
  };
  return {
    id: 'gi_1',
    itemType: 'generated',
    kind: 'model_answer',
    payload,
    ...textsOf('model_answer', payload),
    source: { text: payload.source_text, band: payload.source_band },
    targetBand: payload.target_band,
  };
}

function cueCard(
  prompt: string,
  bullets = ['where it is', 'how you found it', 'what you do there'],
): ValidationItem {
  const payload = {
    topic: 'places_description',
    prompt,
    bullet_points: bullets,
    closing_prompt: 'and explain why you like it.',
  };
  return { id: 'gi_2', itemType: 'generated', kind: 'cue_card', payload, ...textsOf('cue_card', payload) };
}

function segment(
  text: string,
  band = 6,
  cefr = 'B2',
  over: Partial<{ kind: string; topic: string; turn: 'question' | 'answer' }> = {},
): ValidationItem {
  const payload = {
    text,
    part: '1',
    kind: over.kind ?? 'candidate_answer',
    topic: over.topic ?? 'work',
    band,
    cefr,
    pronunciation_focus: [],
  };
  return {
    id: 'cl_1',
    itemType: 'classification',
    kind: 'segment',
    payload,
    ...textsOf('segment', payload),
    band,
    cefr,
    turn: over.turn ?? 'answer',
  };
}

const rules = (item: ValidationItem) => itemRules(item, cfg).map((r) => r.rule);
const details = (item: ValidationItem) =>
  itemRules(item, cfg)
    .map((r) => r.detail)
    .join(' | ');

describe('quality gate rules', () => {
  it('approves a good model answer, cue card and segment', () => {
    expect(rules(modelAnswer(GOOD_ANSWER))).toEqual([]);
    expect(rules(cueCard('Describe a quiet place where you like to spend time.'))).toEqual([]);
    expect(rules(segment('I work as a nurse and I really enjoy helping people.'))).toEqual([]);
  });

  it.each([
    [
      'a band outside 0-9',
      { ...modelAnswer(GOOD_ANSWER), payload: { ...modelAnswer(GOOD_ANSWER).payload, target_band: 9.5 } },
    ],
    [
      'a missing field',
      {
        ...cueCard('Describe a park.'),
        payload: { topic: 'places_description', prompt: 'Describe a park you like.' },
      },
    ],
    [
      'a topic outside the list',
      { ...cueCard('Describe a park you like.'), payload: { ...cueCard('x').payload, topic: 'astrology' } },
    ],
  ])('schema: rejects %s', (_name, item) => {
    expect(rules(item as ValidationItem)).toEqual(['schema']);
  });

  it.each([
    ['empty text', segment('   '), 'empty'],
    ['a cue card too short to be usable', cueCard('Describe it.', ['why', 'how', 'who']), 'minimum'],
    ['a segment over the length limit', segment(`${GOOD_ANSWER} `.repeat(40)), 'maximum'],
  ])('length: rejects %s', (_name, item, detail) => {
    expect(rules(item)).toContain('length');
    expect(details(item)).toContain(detail);
  });

  it('schema bounds come first: a model answer under the schema minimum is a schema rejection', () => {
    expect(rules(modelAnswer('Yes, nurse.'))).toEqual(['schema']);
  });

  it.each([
    ['Spanish', 'Trabajo como enfermera en un hospital grande y me gusta mucho ayudar a la gente cada día.'],
    [
      'Portuguese',
      'Eu trabalho como enfermeira num hospital grande e gosto muito de ajudar as pessoas todos os dias.',
    ],
    [
      'German',
      'Ich arbeite als Krankenschwester in einem großen Krankenhaus und helfe jeden Tag gerne den Menschen.',
    ],
  ])('language: rejects text in %s', (_name, text) => {
    expect(rules(segment(text))).toContain('language');
  });

  it('language: does not judge text too short to detect reliably', () => {
    expect(rules(segment('Sí, claro.'))).not.toContain('language');
  });

  it.each([
    ['a plain e-mail', 'You can reach me at anna.silva@example.com any time.'],
    ['an e-mail spelled out', 'Write to anna dot silva at gmail dot com if you want the notes.'],
    ['an e-mail with [at] and (dot)', 'My address is anna.silva [at] mail (dot) com for the class.'],
    ['a URL without a scheme', 'All my photos are on www.annas-travels.net so have a look.'],
    ['an international phone number', 'Call the clinic on +44 (0)20 7946 0958 to book a visit.'],
    ['a phone number with dots', 'My mobile is 415.555.0132 if you need it for the trip.'],
    ['a phone number with odd spacing', 'Ring me on 0 7 7 0 0 9 0 0 1 2 3 after six tonight please.'],
  ])('pii: rejects %s', (_name, text) => {
    expect(rules(segment(text))).toContain('pii');
  });

  it('pii: rejects names of people in cue cards only', () => {
    expect(rules(cueCard('Describe a time you met Sarah Jones at a conference.'))).toContain('pii');
    expect(rules(cueCard('Describe a teacher called Dr. Okafor who helped you.'))).toContain('pii');
    // Title Case that is not a name: a topic label, capitalised common words.
    expect(rules(cueCard('Describe something about Art Culture in your city.'))).not.toContain('pii');
    expect(rules(cueCard('Describe a Famous Building in your Home Town.'))).not.toContain('pii');
    expect(
      rules(segment('I met my friend Sarah at the cinema last week and we talked for hours.')),
    ).not.toContain('pii');
  });

  it('pii: does not mistake years and numbers in speech for phone numbers', () => {
    expect(
      rules(segment('I moved there in 2015 and stayed for 3 years, then 2019 was different.')),
    ).not.toContain('pii');
  });

  it.each([
    'This exam is shit and I hate it so much honestly.',
    'What the fuck is this question about anyway?',
    'That teacher was a real b1tch to everyone in class.',
  ])('profanity: rejects %j', (text) => {
    expect(rules(segment(text))).toContain('profanity');
  });

  it('profanity: leaves innocent words alone (Scunthorpe, assessment, class)', () => {
    expect(rules(segment('I grew up in Scunthorpe and passed my assessment in class.'))).not.toContain(
      'profanity',
    );
  });

  it.each([
    ['a paraphrase identical to its source', SOURCE, 'identical'],
    [
      'a paraphrase that only changes punctuation and case',
      SOURCE.toUpperCase().replace(/\./g, '!'),
      'identical',
    ],
    ['a paraphrase that copies its source with one word changed', SOURCE.replace('good', 'nice'), 'copies'],
    [
      'a paraphrase that drifted to another subject',
      'Football is the most popular sport in the world, and many countries build huge stadiums for their national teams.',
      'drifted',
    ],
  ])('paraphrase: rejects %s', (_name, text, detail) => {
    const item = modelAnswer(text);
    expect(rules(item)).toContain('paraphrase');
    expect(details(item)).toContain(detail);
  });

  it('band: rejects a model answer targeting a lower band than its source', () => {
    expect(rules(modelAnswer(GOOD_ANSWER, { target_band: 6, source_band: 7 }))).toContain('band');
  });

  it('cefr_band: flags a classification whose CEFR does not match its band', () => {
    const text = 'I work as a nurse in a big hospital and I really enjoy helping people every single day.';
    expect(rules(segment(text, 6, 'A1'))).toContain('cefr_band');
    expect(rules(segment(text, 6, 'B1'))).not.toContain('cefr_band');
  });
});

describe('duplicate fingerprints', () => {
  const a =
    'Describe a quiet place where you like to spend time. You should say where it is and why you go there.';
  it('gives texts that differ by punctuation, case and spacing the same exact hash', () => {
    expect(exactHash(a)).toBe(exactHash(`  ${a.toUpperCase().replace(/\./g, ' !!')}  `));
    expect(exactHash(a)).not.toBe(exactHash(a.replace('quiet', 'noisy')));
  });

  it('scores near-duplicates high and different texts low, and near-duplicates share an LSH band', () => {
    const near = a.replace('spend time', 'spend some time');
    const other = 'Talk about a person who taught you something important when you were a child.';
    expect(estimatedSimilarity(minhash(a), minhash(near))).toBeGreaterThan(0.5);
    expect(estimatedSimilarity(minhash(a), minhash(other))).toBeLessThan(0.2);
    expect(bandHashes(minhash(a)).some((b, i) => bandHashes(minhash(near))[i] === b)).toBe(true);
    expect(estimatedSimilarity(minhash(a), minhash(a))).toBe(1);
  });

  it('repetition: rejects generated text that loops or repeats a line, and leaves speech alone', () => {
    const loop = 'I live in the city, I live in the city, I live in the city, I like it because it is busy.';
    expect(rules(modelAnswer(loop))).toContain('repetition');
    // A list repeating an element breaks its schema; a line repeated across fields is repetition.
    expect(
      rules(cueCard('Describe a place you like.', ['where it is', 'Where it is.', 'what you do there'])),
    ).toEqual(['schema']);
    expect(
      rules(
        cueCard('Describe a place you like.', ['and explain why you like it', 'where it is', 'when you go']),
      ),
    ).toContain('repetition');
    expect(rules(modelAnswer(GOOD_ANSWER))).not.toContain('repetition');
    expect(rules(segment(loop))).not.toContain('repetition');
  });
});

function followUps(questions: string[], sourceQuestions: string[] = []): ValidationItem {
  const payload = { topic: 'hometown', questions, source_questions: sourceQuestions };
  return {
    id: 'gi_3',
    itemType: 'generated',
    kind: 'follow_up',
    payload,
    ...textsOf('follow_up', payload),
    promptData: sourceQuestions,
  };
}

function drill(focus: string, instruction: string, items: string[], sourceText = SOURCE): ValidationItem {
  const payload = {
    focus,
    instruction,
    items,
    tip: 'Say each one slowly, then at normal speed.',
    source_text: sourceText,
  };
  return {
    id: 'gi_4',
    itemType: 'generated',
    kind: 'drill',
    payload,
    ...textsOf('drill', payload),
    promptData: [sourceText],
  };
}

const QUESTIONS = [
  'What do you like most about the place where you live?',
  'In your opinion, why do young people move to big cities?',
  'How has your neighbourhood changed in recent years?',
];

describe('form rules', () => {
  it('question_form: rejects follow-ups that are answers with a question mark, keeps real questions', () => {
    expect(rules(followUps(QUESTIONS))).toEqual([]);
    const item = followUps([
      ...QUESTIONS.slice(0, 2),
      'I live in the city and I like it because it is busy?',
    ]);
    expect(rules(item)).toEqual(['question_form']);
    expect(details(item)).toContain('1 of 3 are not questions');
    expect(isQuestion('And do you think that will change?')).toBe(true);
    expect(isQuestion('Thinking about your town, what would you improve?')).toBe(true);
    expect(isQuestion('Tell me about your town.')).toBe(false);
  });

  it("copied_prompt: rejects a follow-up that is the examiner's question again, or a drill copying the answer", () => {
    const asked = 'Do you live in a house or an apartment?';
    expect(
      rules(followUps([...QUESTIONS.slice(0, 2), 'Do you live in a house or an apartment?'], [asked])),
    ).toEqual(['copied_prompt']);
    expect(rules(followUps(QUESTIONS, [asked]))).toEqual([]);
    const answer = 'I think the weather in my city is very wet and windy in the winter months.';
    const copying = drill(
      'linking',
      'Link the words smoothly as you read.',
      ['the weather in my city is very wet and windy', 'wet and windy', 'in the winter'],
      answer,
    );
    expect(rules(copying)).toContain('copied_prompt');
    const using = drill(
      'linking',
      'Link the words smoothly as you read.',
      ['wet and windy', 'in the winter', 'my city is'],
      answer,
    );
    expect(rules(using)).not.toContain('copied_prompt');
  });

  it('cue_card_form: needs a "Describe …" prompt and a closing line of its own', () => {
    expect(rules(cueCard('Talk about a quiet place where you like to spend your time.'))).toContain(
      'cue_card_form',
    );
    expect(rules(cueCard('Describe a quiet place where you like to spend time.'))).not.toContain(
      'cue_card_form',
    );
  });

  it('drill_focus: a drill must mention its focus, and sound drills must contain the sound', () => {
    const th = (items: string[], instruction = 'Put your tongue between your teeth for the th sound.') =>
      drill('th_sounds', instruction, items);
    expect(rules(th(['think', 'three', 'weather', 'mother']))).toEqual([]);
    expect(details(th(['cat', 'dog', 'house', 'weather']))).toContain('only 1 of 4 items practise it');
    expect(details(th(['think', 'three', 'weather'], 'Repeat each word after the recording.'))).toContain(
      'never mention it',
    );
  });
});

describe('band_richness', () => {
  const LOW =
    'I work as a nurse in a big hospital. It is a good job because I help people every day, and I like it a lot.';
  const HIGH =
    'I work as a nurse in a large teaching hospital, which I find genuinely rewarding because, although the shifts are demanding, I get to make a tangible difference to patients every single day.';
  const answer = (band: number, text: string, siblings: Array<{ band: number; text: string }>) => ({
    ...modelAnswer(text, { target_band: band, source_band: 5 }),
    siblings,
  });

  it('rejects a higher-band answer poorer than a lower-band one on two of length, MTLD, sentence variety', () => {
    expect(rules(answer(8, LOW, [{ band: 6, text: HIGH }]))).toContain('band_richness');
    expect(details(answer(8, LOW, [{ band: 6, text: HIGH }]))).toMatch(
      /band 8 is poorer than the band 6 answer in words/,
    );
  });

  it('passes answers that grow with the band, and compares only with lower bands', () => {
    expect(rules(answer(8, HIGH, [{ band: 6, text: LOW }]))).not.toContain('band_richness');
    expect(rules(answer(6, LOW, [{ band: 8, text: HIGH }]))).not.toContain('band_richness');
  });

  it('MTLD does not fall as a varied text grows, unlike the type-token ratio', () => {
    expect(mtld(HIGH)).toBeGreaterThan(mtld('the cat and the cat and the cat and the cat and the cat'));
    expect(Math.abs(mtld(`${HIGH} ${HIGH.replace('nurse', 'doctor')}`) - mtld(HIGH))).toBeLessThan(
      mtld(HIGH),
    );
  });
});

describe('consistency with what was measured (needs_review)', () => {
  const FLUENT =
    'I live in a small apartment near the city centre. It is quite noisy at night, but I really like it because I can walk to work and there are lots of cafes and parks nearby.';

  it("turn_kind: flags an answer the LLM calls an examiner question, and the segmenter's turn stays", () => {
    const s = segment(FLUENT, 6, 'B2', { kind: 'examiner_question', topic: 'hometown' });
    expect(rules(s)).toEqual(['turn_kind']);
    expect(statusOf(itemRules(s, cfg))).toBe('needs_review');
    expect(rules(segment(FLUENT, 6, 'B2', { kind: 'candidate_answer', topic: 'hometown' }))).toEqual([]);
  });

  it('band_plausibility: flags band 1 on a long fluent answer and band 8 on a few words', () => {
    // whisper's comma-spliced sentence (the sample as transcribed) counts as fluent too
    const spliced =
      'I live in a small apartment near the city center, it is quite noisy at night, but I really like it because I can walk to work and there are lots of cafes and parks nearby.';
    expect(rules(segment(spliced, 1, 'A1', { topic: 'hometown' }))).toEqual(['band_plausibility']);
    expect(details(segment(FLUENT, 1, 'A1', { topic: 'hometown' }))).toContain(
      'band 1 on a 36-word answer with',
    );
    expect(rules(segment('Yes, I like it very much.', 8, 'C1', { topic: 'hometown' }))).toEqual([
      'band_plausibility',
    ]);
    // questions have no band to judge
    expect(
      rules(
        segment('Do you like it?', 8, 'C1', {
          topic: 'hometown',
          turn: 'question',
          kind: 'examiner_question',
        }),
      ),
    ).toEqual([]);
  });

  it('topic_words: flags a topic the words do not support when they point to another', () => {
    const s = segment(FLUENT, 6, 'B2', { topic: 'art_culture' });
    expect(rules(s)).toEqual(['topic_words']);
    expect(details(s)).toContain('topic art_culture, but its words point to hometown');
    // one word of another topic is enough on a short question; a text that points nowhere is left alone
    expect(
      rules(
        segment('Which sports are popular in your country?', 5, 'B1', {
          topic: 'hometown',
          turn: 'question',
          kind: 'examiner_question',
        }),
      ),
    ).toEqual(['topic_words']);
    expect(rules(segment('Yes, I think so, mostly.', 5, 'B1', { topic: 'art_culture' }))).toEqual([]);
  });

  it('fragment: a segment of at most two words is flagged; three words stand alone', () => {
    const question = { topic: 'hometown', turn: 'question', kind: 'examiner_question' } as const;
    expect(rules(segment('everyone?', 1, 'A1', question))).toEqual(['fragment']);
    expect(details(segment('Your hometown?', 1, 'A1', question))).toContain(
      '2 words: too short to stand alone',
    );
    expect(rules(segment('Where do you live?', 1, 'A1', question))).toEqual([]);
  });

  it('unlabelled: a segment the classifier refused is published without labels, flagged, its text still checked', () => {
    const refused = (text: string): ValidationItem => {
      const payload = {
        text,
        part: null,
        kind: null,
        topic: null,
        band: null,
        cefr: null,
        pronunciation_focus: [],
        turn: 'answer',
        classify_rejected: 'schema_violation: pronunciation_focus: holds the same focus twice',
      };
      return {
        id: 'cl_9',
        itemType: 'classification',
        kind: 'segment',
        payload,
        ...textsOf('segment', payload),
        band: null,
        cefr: null,
        turn: 'answer',
      };
    };
    const ok = refused('At the weekend I usually visit my grandparents in the countryside.');
    expect(rules(ok)).toEqual(['unlabelled']);
    expect(details(ok)).toContain('holds the same focus twice');
    expect(statusOf(itemRules(ok, cfg))).toBe('needs_review');
    const phone = refused('You can always call me on +44 (0)20 7946 0958 if you need anything at all.');
    expect(statusOf(itemRules(phone, cfg))).toBe('rejected');
  });

  it('statusOf: any reject rule rejects; only review rules flag; none approves', () => {
    expect(statusOf([])).toBe('approved');
    expect(statusOf([{ rule: 'topic_words', detail: '' }])).toBe('needs_review');
    expect(
      statusOf([
        { rule: 'topic_words', detail: '' },
        { rule: 'pii', detail: '' },
      ]),
    ).toBe('rejected');
  });

  it('every rule in the table has a reason, and the gate documents every rule id', async () => {
    const fs = await import('node:fs');
    const doc = fs.readFileSync(new URL('../../../../docs/quality-gate.md', import.meta.url), 'utf8');
    for (const r of RULES) {
      expect(r.reason.length).toBeGreaterThan(5);
      expect(doc, r.id).toContain(`\`${r.id}\``);
    }
  });
});
