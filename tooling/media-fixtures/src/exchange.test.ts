import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addNoise, parseExchanges, synthesiseExchange } from './exchange.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exchange-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** RMS amplitude of a file (or of the part between two times), by sox's stat effect. */
function rms(file: string, from?: number, to?: number): number {
  const trim = from === undefined ? [] : ['trim', String(from), `=${to}`];
  const { stderr: stat } = spawnSync('sox', [file, '-n', ...trim, 'stat'], { encoding: 'utf8' });
  return Number(/RMS\s+amplitude:\s+([\d.e-]+)/.exec(stat)?.[1]);
}

describe('parseExchanges', () => {
  it('reads named exchanges and their turns, ignoring comments and blank lines', () => {
    const text = '# a comment\n\n## one\nexaminer: Q?\ncandidate: A.\n\n## two\nexaminer: Why?\n';
    expect(parseExchanges(text)).toEqual([
      {
        name: 'one',
        turns: [
          { speaker: 'examiner', text: 'Q?' },
          { speaker: 'candidate', text: 'A.' },
        ],
      },
      { name: 'two', turns: [{ speaker: 'examiner', text: 'Why?' }] },
    ]);
  });

  it('names the line that is neither a header nor a turn', () => {
    expect(() => parseExchanges('## one\nstudent: hi\n')).toThrow('line 2: expected');
    expect(() => parseExchanges('examiner: before any header\n')).toThrow('line 1: expected');
  });
});

describe('synthesiseExchange and addNoise', () => {
  it('gives each turn its place in a 16 kHz mono file, with the pause between turns silent', async () => {
    const out = path.join(dir, 'ex.wav');
    const turns = await synthesiseExchange(
      out,
      [
        { speaker: 'examiner', text: 'Where do you live?' },
        { speaker: 'candidate', text: 'I live in a small town by the sea.' },
      ],
      { pauseS: 1 },
    );
    const total = Number(execFileSync('soxi', ['-D', out]).toString());
    expect(execFileSync('soxi', ['-r', out]).toString().trim()).toBe('16000');
    expect(execFileSync('soxi', ['-c', out]).toString().trim()).toBe('1');
    expect(turns.map((t) => t.speaker)).toEqual(['examiner', 'candidate']);
    expect(turns[0]?.startS).toBe(0);
    expect((turns[1]?.startS ?? 0) - (turns[0]?.endS ?? 0)).toBeCloseTo(1, 5);
    expect(turns[1]?.endS).toBeCloseTo(total, 1);
    // the pause is silent (below -80 dBFS, the resampler's ringing), the turns are not
    expect(rms(out, (turns[0]?.endS ?? 0) + 0.05, (turns[1]?.startS ?? 0) - 0.05)).toBeLessThan(1e-4);
    expect(rms(out, turns[1]?.startS, turns[1]?.endS)).toBeGreaterThan(0.01);
  });

  it('mixes noise at the requested SNR, the same noise each time', async () => {
    const clean = path.join(dir, 'clean.wav');
    await synthesiseExchange(clean, [{ speaker: 'candidate', text: 'I usually read novels on the train.' }]);
    const noisy = await addNoise(clean, path.join(dir, 'noisy.wav'), 10);
    const again = await addNoise(clean, path.join(dir, 'again.wav'), 10);
    expect(fs.readFileSync(noisy).equals(fs.readFileSync(again))).toBe(true);
    // The noise alone is the mix minus the (half-volume) speech: measure both with sox.
    const noiseOnly = path.join(dir, 'noise-only.wav');
    execFileSync('sox', ['-D', '-m', noisy, '-v', '-0.5', clean, noiseOnly]);
    const snr = 20 * Math.log10((0.5 * rms(clean)) / rms(noiseOnly));
    expect(snr).toBeGreaterThan(9.5);
    expect(snr).toBeLessThan(10.5);
  });
});
