import { describe, expect, it } from 'vitest';
import { detectedLanguage, toSegments, WhisperOutput } from './whisper-json.ts';

const tok = (text: string, from: number, to: number, id = 100, p = 0.9) => ({
  text,
  offsets: { from, to },
  id,
  p,
});

const sample = WhisperOutput.parse({
  model: { multilingual: false },
  result: { language: 'en' },
  transcription: [
    {
      offsets: { from: 0, to: 2100 },
      text: ' What do you do?',
      tokens: [
        tok('[_BEG_]', 0, 0, 50363),
        tok(' What', 0, 300),
        tok(' do', 300, 500),
        tok(' you', 500, 800),
        tok(' do', 800, 1100),
        tok('?', 1100, 1200),
        tok('[_TT_105]', 2100, 2100, 50468),
      ],
    },
    {
      offsets: { from: 2100, to: 99_000 },
      text: ' I work as a nurse.',
      tokens: [
        tok(' I', 2100, 2300),
        tok(' work', 2300, 2600),
        tok(' as', 2600, 2700),
        tok(' a', 2700, 2800),
        tok(' nur', 2800, 3000),
        tok('se.', 3000, 3300, 100, 0.4),
      ],
    },
    { offsets: { from: 5000, to: 5200 }, text: '   ' },
  ],
});

describe('whisper JSON → segments', () => {
  it('keeps text and times, clamping times past the end of the audio', () => {
    const segs = toSegments(sample, 4000);
    expect(segs.map((s) => [s.startMs, s.endMs, s.text])).toEqual([
      [0, 2100, 'What do you do?'],
      [2100, 4000, 'I work as a nurse.'],
    ]);
  });

  it('joins sub-word tokens into words and drops special tokens', () => {
    const [q, a] = toSegments(sample, 4000);
    expect(q?.words?.map((w) => w.text)).toEqual(['What', 'do', 'you', 'do?']);
    expect(a?.words?.map((w) => w.text)).toEqual(['I', 'work', 'as', 'a', 'nurse.']);
    expect(a?.words?.at(-1)).toMatchObject({ startMs: 2800, endMs: 3300, p: 0.4 });
  });

  it('treats id 50256 as special only for English-only models', () => {
    const out = WhisperOutput.parse({
      model: { multilingual: true },
      transcription: [{ offsets: { from: 0, to: 500 }, text: ' x', tokens: [tok(' x', 0, 500, 50256)] }],
    });
    expect(toSegments(out, 1000)[0]?.words?.map((w) => w.text)).toEqual(['x']);
  });

  it('reads the detected language, falling back when whisper only says auto', () => {
    expect(detectedLanguage(sample, 'unknown')).toBe('en');
    expect(
      detectedLanguage(WhisperOutput.parse({ result: { language: 'auto' }, transcription: [] }), 'unknown'),
    ).toBe('unknown');
  });

  it('rejects output that is not whisper JSON', () => {
    expect(WhisperOutput.safeParse({ transcription: 'nope' }).success).toBe(false);
  });
});
