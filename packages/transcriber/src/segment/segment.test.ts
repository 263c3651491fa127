import { describe, expect, it } from 'vitest';
import type { TimedSegment } from '../whisper/whisper-json.ts';
import { isQuestion, segmentTranscript } from './segment.ts';

/** Words laid out from a script: "word@start-end". */
function seg(spec: string): TimedSegment {
  const words = spec.split(' ').map((w) => {
    const [text, times] = w.split('@');
    const [s, e] = (times ?? '0-0').split('-').map(Number);
    return { text: (text ?? '').replace(/_/g, ' '), startMs: s ?? 0, endMs: e ?? 0 };
  });
  return {
    startMs: words[0]?.startMs ?? 0,
    endMs: words.at(-1)?.endMs ?? 0,
    text: words.map((w) => w.text).join(' '),
    words,
  };
}

describe('question detection', () => {
  it.each([
    ['What do you do?', true],
    ['Do you work or are you a student', true],
    ['So, tell me about your home town.', true],
    ['Describe a place you like to visit.', true],
    ['I work as a nurse.', false],
    ['Well I think it depends.', false],
    ['When I was young I repaired bicycles with my father.', false],
    ['How machines work is what I study.', false],
  ])('%j → %s', (text, q) => {
    expect(isQuestion(text)).toBe(q);
  });
});

describe('segmentation into turns', () => {
  it('splits an examiner question from the candidate answer', () => {
    const u = segmentTranscript([
      seg('What@0-300 do@300-500 you@500-800 do?@800-1200'),
      seg(
        'I@1500-1700 work@1700-2000 as@2000-2100 a@2100-2200 nurse.@2200-2700 I@2800-2900 like@2900-3200 it.@3200-3500',
      ),
    ]);
    expect(u.map((x) => [x.turn, x.text, x.startMs, x.endMs])).toEqual([
      ['question', 'What do you do?', 0, 1200],
      ['answer', 'I work as a nurse. I like it.', 1500, 3500],
    ]);
    expect(u.map((x) => x.idx)).toEqual([0, 1]);
  });

  it("cuts before a question that follows an answer's last sentence with no gap between them", () => {
    const u = segmentTranscript([
      seg(
        'I@0-200 study@200-600 engineering.@600-1200 Why@1200-1400 did@1400-1500 you@1500-1600 choose@1600-1900 it?@1900-2200',
      ),
      seg(
        'I@2600-2700 like@2700-3000 machines.@3000-3600 When@3700-3900 I@3900-4000 was@4000-4200 young@4200-4500 I@4500-4600 fixed@4600-4900 bikes.@4900-5400',
      ),
    ]);
    expect(u.map((x) => [x.turn, x.text])).toEqual([
      ['answer', 'I study engineering.'],
      ['question', 'Why did you choose it?'],
      ['answer', 'I like machines. When I was young I fixed bikes.'],
    ]);
  });

  it('cuts at a long pause and keeps one answer together across short ones', () => {
    const u = segmentTranscript([
      seg('Where@0-300 are@300-500 you@500-700 from?@700-1000'),
      seg(
        'From@1300-1600 Porto.@1600-2100 It@2300-2500 is@2500-2700 by@2700-2900 the@2900-3000 sea.@3000-3500',
      ),
      seg('Why@6000-6300 do@6300-6500 you@6500-6700 like@6700-7000 it?@7000-7400'),
      seg('Because@7800-8300 of@8300-8400 the@8400-8500 food.@8500-9000'),
    ]);
    expect(u.map((x) => x.turn)).toEqual(['question', 'answer', 'question', 'answer']);
    expect(u[1]?.text).toBe('From Porto. It is by the sea.');
  });

  it('merges a fragment shorter than the minimum into the previous answer', () => {
    const u = segmentTranscript([
      seg('I@0-200 like@200-600 reading@600-1200 novels.@1200-1800'),
      seg('Mostly.@4000-4400'),
    ]);
    expect(u).toHaveLength(1);
    expect(u[0]?.text).toBe('I like reading novels. Mostly.');
  });

  it('splits an over-long utterance at its longest pause', () => {
    const words = Array.from({ length: 40 }, (_, i) => `w${i}@${i * 1000}-${i * 1000 + 800}`);
    words[20] = 'w20@20600-21400'; // the widest gap is before word 20
    const u = segmentTranscript([seg(words.join(' '))], {
      pauseMs: 5000,
      sentencePauseMs: 5000,
      minMs: 800,
      maxMs: 25_000,
    });
    expect(u.length).toBeGreaterThan(1);
    expect(u.every((x) => x.endMs - x.startMs <= 25_000)).toBe(true);
    expect(u[1]?.text.startsWith('w20')).toBe(true);
  });

  it('works from segment times when whisper gave no word timing', () => {
    const u = segmentTranscript([
      { startMs: 0, endMs: 1500, text: 'How often do you cook?' },
      { startMs: 1800, endMs: 5000, text: 'Almost every day, usually dinner.' },
    ]);
    expect(u.map((x) => x.turn)).toEqual(['question', 'answer']);
  });

  it('is deterministic and returns nothing for nothing', () => {
    expect(segmentTranscript([])).toEqual([]);
    const input = [seg('Hello@0-500 there.@500-1000')];
    expect(segmentTranscript(input)).toEqual(segmentTranscript(input));
  });
});
