import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Spoken IELTS-style exchanges with known truth: each turn synthesised by espeak-ng in the examiner's
 * or the candidate's voice, pauses between turns, and optionally noise from sox at a chosen
 * signal-to-noise ratio. The result says where each turn starts and ends, so a transcript's words and
 * its question/answer segmentation can be scored against the script.
 */

export type Speaker = 'examiner' | 'candidate';

export interface Turn {
  speaker: Speaker;
  text: string;
}

export interface Exchange {
  name: string;
  turns: Turn[];
}

export interface TimedTurn extends Turn {
  startS: number;
  endS: number;
}

/**
 * Reads exchanges: a "## name" line starts one, then a turn per line ("examiner: …" / "candidate: …").
 * Lines starting with "#" (other than "## ") and blank lines are ignored.
 */
export function parseExchanges(text: string): Exchange[] {
  const out: Exchange[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line.startsWith('## ')) {
      out.push({ name: line.slice(3).trim(), turns: [] });
    } else if (line && !line.startsWith('#')) {
      const m = /^(examiner|candidate):\s*(.+)$/.exec(line);
      const current = out.at(-1);
      if (!m || !current) throw new Error(`line ${i + 1}: expected "## name" or "examiner|candidate: text"`);
      current.turns.push({ speaker: m[1] as Speaker, text: m[2] ?? '' });
    }
  }
  return out;
}

async function seconds(file: string): Promise<number> {
  const { stdout } = await run('soxi', ['-D', file]);
  return Number(stdout.trim());
}

export interface ExchangeVoices {
  /** espeak-ng voice of the examiner (default en-gb). */
  examiner?: string;
  /** espeak-ng voice of the candidate (default en-us). */
  candidate?: string;
  /** Words per minute, both speakers (default 160). */
  speed?: number;
  /** Silence between turns, seconds (default 0.8). */
  pauseS?: number;
}

/** Synthesises the turns into one 16 kHz mono WAV at `out` and returns where each turn lies. */
export async function synthesiseExchange(
  out: string,
  turns: Turn[],
  voices: ExchangeVoices = {},
): Promise<TimedTurn[]> {
  const tmp = fs.mkdtempSync(`${out}.parts-`);
  try {
    const pauseS = voices.pauseS ?? 0.8;
    const pause = path.join(tmp, 'pause.wav');
    await run('sox', ['-n', '-r', '22050', '-c', '1', '-b', '16', pause, 'trim', '0', String(pauseS)]);
    const parts: string[] = [];
    const timed: TimedTurn[] = [];
    let at = 0;
    for (const [i, turn] of turns.entries()) {
      const voice =
        turn.speaker === 'examiner' ? (voices.examiner ?? 'en-gb') : (voices.candidate ?? 'en-us');
      const f = path.join(tmp, `turn-${i}.wav`);
      await run('espeak-ng', ['-v', voice, '-s', String(voices.speed ?? 160), '-w', f, turn.text]);
      if (i > 0) {
        parts.push(pause);
        at += pauseS;
      }
      const len = await seconds(f);
      parts.push(f);
      timed.push({ ...turn, startS: at, endS: at + len });
      at += len;
    }
    // -D: no dither, so pauses stay digital silence and the same input gives the same bytes
    await run('sox', ['-D', ...parts, '-b', '16', out, 'rate', '16000']);
    return timed;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function rms(file: string): Promise<number> {
  // sox's stat effect reports on stderr
  const { stderr } = await run('sox', [file, '-n', 'stat']);
  const m = /RMS\s+amplitude:\s+([\d.e-]+)/.exec(stderr);
  if (!m) throw new Error(`sox stat gave no RMS amplitude for ${file}`);
  return Number(m[1]);
}

/**
 * Mixes pink noise into `input` at `snrDb` (speech RMS over noise RMS, over the whole file) and writes
 * `out`. sox runs in repeatable mode without dither, so the same input gives the same bytes.
 */
export async function addNoise(input: string, out: string, snrDb: number): Promise<string> {
  const noise = `${out}.noise.wav`;
  try {
    const [len, speechRms] = await Promise.all([seconds(input), rms(input)]);
    await run('sox', [
      '-R',
      '-n',
      '-r',
      '16000',
      '-c',
      '1',
      '-b',
      '16',
      noise,
      'synth',
      String(len),
      'pinknoise',
    ]);
    const gain = speechRms / ((await rms(noise)) * 10 ** (snrDb / 20));
    // Both inputs at half volume, so the mix cannot clip; the ratio between them is what counts.
    await run('sox', ['-D', '-m', '-v', '0.5', input, '-v', String(0.5 * gain), noise, '-b', '16', out]);
    return out;
  } finally {
    fs.rmSync(noise, { force: true });
  }
}
