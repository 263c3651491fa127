import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Test media made by real tools, never checked-in binaries: speech from espeak-ng, tones, silence and
 * video from ffmpeg's lavfi sources, and deliberately broken files made from those.
 */

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args]);
}

/** Speech from espeak-ng, converted by ffmpeg to the requested container/rate (by extension). */
export async function speech(
  out: string,
  text: string,
  opts: { sampleRate?: number; channels?: number; voice?: string; speed?: number } = {},
): Promise<string> {
  const raw = `${out}.espeak.wav`;
  await run('espeak-ng', ['-v', opts.voice ?? 'en-gb', '-s', String(opts.speed ?? 150), '-w', raw, text]);
  await ffmpeg(['-i', raw, '-ar', String(opts.sampleRate ?? 22050), '-ac', String(opts.channels ?? 1), out]);
  fs.rmSync(raw, { force: true });
  return out;
}

export async function tone(
  out: string,
  opts: { seconds: number; frequency?: number; sampleRate?: number; channels?: number },
): Promise<string> {
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${opts.frequency ?? 440}:sample_rate=${opts.sampleRate ?? 44100}:duration=${opts.seconds}`,
    '-ac',
    String(opts.channels ?? 1),
    out,
  ]);
  return out;
}

export async function silence(out: string, seconds: number, sampleRate = 16000): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', `anullsrc=r=${sampleRate}:cl=mono`, '-t', String(seconds), out]);
  return out;
}

/** A small H.264 video; with `audioFrom` it carries that audio as AAC, without it has no audio stream. */
export async function video(out: string, opts: { seconds: number; audioFrom?: string }): Promise<string> {
  const inputs = ['-f', 'lavfi', '-i', `testsrc=size=160x120:rate=10:duration=${opts.seconds}`];
  if (opts.audioFrom) inputs.push('-i', opts.audioFrom);
  await ffmpeg([
    ...inputs,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    ...(opts.audioFrom ? ['-c:a', 'aac', '-shortest'] : ['-an']),
    out,
  ]);
  return out;
}

/** Deterministic pseudo-random bytes (xorshift), so "random" fixtures are the same on every run. */
export function noise(bytes: number, seed = 1): Buffer {
  const buf = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** Rewrites fields of a canonical 44-byte WAV header in place. */
export function patchWavHeader(file: string, patch: { sampleRate?: number; dataBytes?: number }): void {
  const buf = fs.readFileSync(file);
  const dataAt = buf.indexOf('data', 12, 'latin1');
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || dataAt < 0) throw new Error(`${file} is not a WAV file`);
  if (patch.sampleRate !== undefined) {
    buf.writeUInt32LE(patch.sampleRate, 24);
    buf.writeUInt32LE(patch.sampleRate * buf.readUInt16LE(32), 28); // byte rate = rate * block align
  }
  if (patch.dataBytes !== undefined) buf.writeUInt32LE(patch.dataBytes >>> 0, dataAt + 4);
  fs.writeFileSync(file, buf);
}

export interface CorpusCase {
  name: string;
  file: string;
  /** The reject reason the ingestor must give, or null when the file must be accepted. */
  expect: string | null;
}

/**
 * The media corpus: files that must be accepted, and broken files each with the reason it must be
 * rejected for. Durations assume the ingestor runs with INGEST_MAX_DURATION_S=30 and the defaults
 * otherwise (1 s minimum, 8 kHz minimum rate, -60 dBFS silence).
 */
export async function mediaCorpus(dir: string): Promise<CorpusCase[]> {
  fs.mkdirSync(dir, { recursive: true });
  const p = (name: string) => path.join(dir, name);
  const phrase = 'Describe a place you like to visit. I usually go to the park near my house on Sundays.';
  const cases: CorpusCase[] = [];
  const add = (name: string, file: string, expect: string | null) => cases.push({ name, file, expect });

  // --- accepted ---
  add('speech wav 22.05 kHz', await speech(p('speech.wav'), phrase), null);
  add(
    'speech mp3 44.1 kHz stereo',
    await speech(p('speech.mp3'), phrase, { sampleRate: 44100, channels: 2 }),
    null,
  );
  add(
    'speech flac 48 kHz',
    await speech(p('speech48k.flac'), 'Do you work or are you a student?', { sampleRate: 48000 }),
    null,
  );
  add(
    'speech wav 8 kHz (telephone)',
    await speech(p('speech8k.wav'), 'I have been learning English for ten years.', { sampleRate: 8000 }),
    null,
  );
  add('tone 3 s', await tone(p('tone.wav'), { seconds: 3 }), null);
  add(
    'video with an audio track',
    await video(p('talk.mp4'), { seconds: 4, audioFrom: p('speech.wav') }),
    null,
  );

  // --- rejected ---
  fs.writeFileSync(p('empty.mp3'), '');
  add('zero bytes', p('empty.mp3'), 'empty');
  fs.writeFileSync(p('notes.mp3'), 'These are my IELTS notes, not audio at all.\n'.repeat(200));
  add('text renamed .mp3', p('notes.mp3'), 'not_audio');
  fs.writeFileSync(p('noise.m4a'), noise(256 * 1024, 7));
  add('random bytes named .m4a', p('noise.m4a'), 'not_audio');
  add('video without audio', await video(p('silent-film.mp4'), { seconds: 2 }), 'not_audio');
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x64:duration=1', '-frames:v', '1', p('picture.png')]);
  fs.copyFileSync(p('picture.png'), p('picture.wav'));
  add('PNG image named .wav', p('picture.wav'), 'not_audio');

  const full = await tone(p('truncate-src.wav'), { seconds: 6, sampleRate: 16000 });
  fs.writeFileSync(p('truncated.wav'), fs.readFileSync(full).subarray(0, 44 + 16000 * 2 * 2)); // 2 of 6 s
  add('truncated WAV (header says 6 s, 2 s present)', p('truncated.wav'), 'corrupt');
  const mp4 = fs.readFileSync(p('talk.mp4'));
  fs.writeFileSync(p('truncated.mp4'), mp4.subarray(0, Math.floor(mp4.length / 3)));
  add('truncated MP4', p('truncated.mp4'), 'corrupt');

  await tone(p('huge-declared.wav'), { seconds: 2, sampleRate: 16000 });
  patchWavHeader(p('huge-declared.wav'), { dataBytes: 0xfffffff0 });
  add('WAV header declaring ~37 hours', p('huge-declared.wav'), 'too_long');
  add(
    'tone 40 s (over a 30 s limit)',
    await tone(p('long.wav'), { seconds: 40, sampleRate: 8000 }),
    'too_long',
  );
  add('silence 5 s', await silence(p('silence.wav'), 5), 'silent');
  add('tone 0.3 s', await tone(p('short.wav'), { seconds: 0.3 }), 'too_short');
  add(
    'tone at 2 kHz sample rate',
    await tone(p('rate2k.wav'), { seconds: 3, frequency: 300, sampleRate: 2000 }),
    'low_quality',
  );
  await tone(p('rate0.wav'), { seconds: 2, sampleRate: 16000 });
  patchWavHeader(p('rate0.wav'), { sampleRate: 0 });
  add('WAV header with sample rate 0', p('rate0.wav'), 'corrupt');
  for (const f of ['truncate-src.wav', 'picture.png']) fs.rmSync(p(f), { force: true });
  return cases;
}
export * from './exchange.ts';
