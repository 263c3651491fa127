import { describe, expect, it } from 'vitest';
import { ItemRejected } from '../item-rejected.ts';
import { acceptDecoded, acceptProbe, DEFAULT_LIMITS, extensionFor, secondsOver } from './inspect.ts';
import type { ProbeResult } from './media-tool.ts';

const audio = (over: Partial<ProbeResult['streams'][number]> = {}) => ({
  type: 'audio',
  codec: 'pcm_s16le',
  sampleRate: 22050,
  channels: 1,
  durationS: 10,
  ...over,
});
const probe = (streams: ProbeResult['streams'], durationS: number | null = 10): ProbeResult => ({
  formatName: 'wav',
  durationS,
  streams,
});
const decoded = (durationMs: number, maxVolumeDb: number | null = -3) => ({
  durationMs,
  maxVolumeDb,
  meanVolumeDb: -20,
  decodeErrors: 0,
});

function reason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ItemRejected) return err.reason;
    throw err;
  }
  return undefined;
}

describe('probe rules', () => {
  it('accepts audio, and video with an audio track as video', () => {
    expect(acceptProbe(probe([audio()]), DEFAULT_LIMITS).mediaType).toBe('audio');
    const v = probe([
      { type: 'video', codec: 'h264', sampleRate: null, channels: null, durationS: 10 },
      audio(),
    ]);
    expect(acceptProbe(v, DEFAULT_LIMITS).mediaType).toBe('video');
  });

  it('treats cover art as audio, not video', () => {
    const withArt = probe([
      audio(),
      { type: 'video', codec: 'mjpeg', sampleRate: null, channels: null, durationS: null },
    ]);
    expect(acceptProbe(withArt, DEFAULT_LIMITS).mediaType).toBe('audio');
  });

  it.each([
    [
      'no audio stream',
      probe([{ type: 'video', codec: 'h264', sampleRate: null, channels: null, durationS: 3 }]),
      'not_audio',
    ],
    ['no streams at all', probe([]), 'not_audio'],
    ['sample rate 0', probe([audio({ sampleRate: 0 })]), 'corrupt'],
    ['sample rate unknown', probe([audio({ sampleRate: null })]), 'corrupt'],
    ['sample rate 4 kHz', probe([audio({ sampleRate: 4000 })]), 'low_quality'],
    ['declared 5 hours', probe([audio({ durationS: 5 * 3600 })]), 'too_long'],
  ])('rejects %s', (_name, p, expected) => {
    expect(reason(() => acceptProbe(p, DEFAULT_LIMITS))).toBe(expected);
  });

  it('says by how much a duration is over the limit, however little', () => {
    const limit = DEFAULT_LIMITS.maxDurationS;
    const p = probe([audio({ durationS: limit + 0.0065 })]);
    let message = '';
    try {
      acceptProbe(p, DEFAULT_LIMITS);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(`declares 10800.01 s, limit ${limit} s`);
    expect(secondsOver(10800.004, 10800)).toBe('10800.004');
    expect(secondsOver(10801.25, 10800)).toBe('10801.3');
  });

  it('rejects a WAV whose header declares more data than the file holds', () => {
    const p = probe([audio()]);
    expect(
      reason(() => acceptProbe(p, DEFAULT_LIMITS, { declared: 640_000, present: 64_000, byteRate: 32_000 })),
    ).toBe('corrupt');
    expect(
      reason(() =>
        acceptProbe(p, DEFAULT_LIMITS, { declared: 0xfffffff0, present: 64_000, byteRate: 32_000 }),
      ),
    ).toBe('too_long');
  });
});

describe('decode rules', () => {
  const ok = acceptProbe(probe([audio()]), DEFAULT_LIMITS);

  it('accepts audio that decoded fully and is audible', () => {
    expect(reason(() => acceptDecoded(ok, decoded(10_000), DEFAULT_LIMITS))).toBeUndefined();
  });

  it.each([
    ['nothing decoded', decoded(0), 'corrupt'],
    ['decoded a third of the declared length', decoded(3_000), 'corrupt'],
    ['digital silence', decoded(10_000, null), 'silent'],
    ['quieter than the silence threshold', decoded(10_000, -70), 'silent'],
  ])('rejects %s', (_name, d, expected) => {
    expect(reason(() => acceptDecoded(ok, d, DEFAULT_LIMITS))).toBe(expected);
  });

  it('rejects audio shorter than the minimum', () => {
    const short = acceptProbe(probe([audio({ durationS: 0.4 })], 0.4), DEFAULT_LIMITS);
    expect(reason(() => acceptDecoded(short, decoded(400), DEFAULT_LIMITS))).toBe('too_short');
  });

  it('rejects audio that decodes to the maximum when nothing was declared', () => {
    const unknown = acceptProbe(probe([audio({ durationS: null })], null), {
      ...DEFAULT_LIMITS,
      maxDurationS: 30,
    });
    expect(
      reason(() => acceptDecoded(unknown, decoded(30_000), { ...DEFAULT_LIMITS, maxDurationS: 30 })),
    ).toBe('too_long');
  });
});

describe('stored source extension', () => {
  it.each([
    ['wav', 'pcm_s16le', 'audio', 'wav'],
    ['mp3', 'mp3', 'audio', 'mp3'],
    ['mov,mp4,m4a,3gp,3g2,mj2', 'aac', 'video', 'mp4'],
    ['mov,mp4,m4a,3gp,3g2,mj2', 'aac', 'audio', 'm4a'],
    ['matroska,webm', 'opus', 'audio', 'mka'],
    ['ogg', 'opus', 'audio', 'opus'],
    ['weird', 'x', 'audio', 'bin'],
  ] as const)('%s/%s (%s) → .%s', (format, codec, type, ext) => {
    expect(extensionFor(format, codec, type)).toBe(ext);
  });
});
