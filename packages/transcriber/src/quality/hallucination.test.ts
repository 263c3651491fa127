import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { energyProfile, peakBetween } from './energy.ts';
import { judgeTranscript, repeatsWithin } from './hallucination.ts';

const s = (startMs: number, endMs: number, text: string) => ({ startMs, endMs, text });

describe('hallucination guard', () => {
  it('flags a repetition loop inside one segment', () => {
    expect(repeatsWithin("I'm going to go. I'm going to go. I'm going to go.")).toBe(true);
    expect(repeatsWithin('I like to go to the park and to go to the beach.')).toBe(false);
  });

  it('flags the same segment text three times in a row', () => {
    const v = judgeTranscript(
      [
        s(0, 1000, 'Thank you so much.'),
        s(1000, 2000, 'Thank you so much.'),
        s(2000, 3000, 'Thank you so much.'),
      ],
      null,
    );
    expect(v.flags).toContain('repeated_segments');
    expect(v.suspectSegments).toEqual([0, 1, 2]);
    expect(v.suspect).toBe(true);
  });

  it('flags stock subtitle phrases', () => {
    const v = judgeTranscript(
      [s(0, 3000, 'I grew up near the coast.'), s(3000, 5000, 'Thanks for watching!')],
      null,
    );
    expect(v.flags).toEqual(['stock_phrase']);
    expect(v.suspectSegments).toEqual([1]);
    expect(v.suspect).toBe(false);
  });

  it('passes ordinary speech', () => {
    const v = judgeTranscript(
      [s(0, 2000, 'What do you do?'), s(2000, 6000, 'I am a nurse in a big hospital.')],
      null,
    );
    expect(v).toEqual({ flags: [], suspectSegments: [], suspect: false });
  });

  it('flags text over audio with no speech energy, measured on a real WAV', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'energy-'));
    const wav = path.join(dir, 'a.wav');
    // 2 s of a loud tone, then 3 s of silence, as 16 kHz mono s16le.
    execFileSync('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:sample_rate=16000:duration=2',
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=16000:cl=mono:d=3',
      '-filter_complex',
      '[0][1]concat=n=2:v=0:a=1',
      '-ac',
      '1',
      '-ar',
      '16000',
      '-c:a',
      'pcm_s16le',
      wav,
    ]);
    const profile = energyProfile(wav);
    return profile.then((p) => {
      expect(p.dbfs.length).toBe(50);
      expect(peakBetween(p, 0, 2000)).toBeGreaterThan(-30);
      expect(peakBetween(p, 2500, 5000)).toBe(Number.NEGATIVE_INFINITY);
      const v = judgeTranscript(
        [s(0, 2000, 'My name is Ana.'), s(2200, 5000, 'And I like to travel a lot.')],
        p,
      );
      expect(v.flags).toEqual(['text_over_silence']);
      expect(v.suspectSegments).toEqual([1]);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });
});
