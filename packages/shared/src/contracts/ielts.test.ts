import { describe, expect, it } from 'vitest';
import {
  ClassificationOutput,
  CueCardOutput,
  DrillsOutput,
  FollowUpsOutput,
  ModelAnswersOutput,
} from './ielts.ts';

const messages = (r: { error?: { issues: Array<{ message: string }> } }) =>
  r.error?.issues.map((i) => i.message) ?? [];

describe('LLM output schemas', () => {
  it('refuse a label list that repeats a value', () => {
    const focus = ClassificationOutput.shape.pronunciation_focus;
    expect(messages(focus.safeParse(['intonation', 'intonation', 'intonation']))).toEqual([
      'holds the same focus twice',
    ]);
    expect(focus.safeParse(['intonation', 'linking']).success).toBe(true);
  });

  it('refuse follow-ups that are not questions or say the same twice', () => {
    const line = 'I live in the city, I like it because it is busy.';
    expect(messages(FollowUpsOutput.safeParse({ questions: [line, line, line] }))).toEqual([
      'is not a question (one sentence ending with "?")',
      'is not a question (one sentence ending with "?")',
      'is not a question (one sentence ending with "?")',
      'holds the same question twice',
    ]);
    expect(
      messages(
        FollowUpsOutput.safeParse({
          questions: [
            'Why do people move to cities?',
            'why do people move to cities',
            'Is city life stressful?',
          ],
        }),
      ),
    ).toContain('holds the same question twice');
    expect(
      FollowUpsOutput.safeParse({
        questions: [
          'Why do people move to cities?',
          'Is city life stressful?',
          'How could towns keep young people?',
        ],
      }).success,
    ).toBe(true);
  });

  it('refuse repeated cue-card bullets and drill items, whatever their case and punctuation', () => {
    const card = { prompt: 'Describe a place you like.', closing_prompt: 'and explain why.' };
    expect(
      messages(CueCardOutput.safeParse({ ...card, bullet_points: ['where it is', 'Where it is!', 'when'] })),
    ).toEqual(['holds the same bullet point twice']);
    const drill = { focus: 'linking', instruction: 'Say each phrase smoothly.', tip: 'Relax.' };
    expect(
      messages(
        DrillsOutput.shape.drills.element.safeParse({ ...drill, items: ['an apple', 'an apple', 'an egg'] }),
      ),
    ).toEqual(['holds the same item twice']);
  });

  it('refuse two model answers for one band, the same answer twice, and the same drill twice', () => {
    const answer = (band: number, text: string) => ({ target_band: band, text, vocabulary_upgrades: [] });
    const a = 'I live in a lively neighbourhood close to the centre of the city.';
    const b = 'I am lucky to live in a vibrant area right next to the city centre, which I love.';
    const answers = (...xs: unknown[]) =>
      ModelAnswersOutput.safeParse({ answers: xs, suspicious_instructions: false });
    expect(answers(answer(6, a), answer(8, b)).success).toBe(true);
    expect(messages(answers(answer(7, a), answer(7, b)))).toEqual(['holds the same target band twice']);
    expect(messages(answers(answer(6, a), answer(8, `${a.toUpperCase()}!`)))).toEqual([
      'holds the same answer twice',
    ]);
    const drill = {
      focus: 'linking',
      instruction: 'Say each phrase smoothly.',
      tip: 'Relax.',
      items: ['an apple', 'an egg', 'an owl'],
    };
    expect(
      messages(
        DrillsOutput.safeParse({
          drills: [drill, { ...drill, focus: 'schwa' }],
          suspicious_instructions: false,
        }),
      ),
    ).toEqual(['holds the same drill twice']);
  });
});
