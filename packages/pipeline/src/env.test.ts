import { env as transcriberEnv } from '@pronielts/transcriber/env';
import { describe, expect, it } from 'vitest';
import { parseRunnerEnv } from './env.ts';

describe("the runner's env: the stages' schemas, one machine's defaults", () => {
  it('defaults to the base model in the tools cache with downloads allowed, where a pod has medium and none', () => {
    const runner = parseRunnerEnv({ PRONIELTS_TOOLS: '/tools' });
    const pod = transcriberEnv.parse({});
    expect([runner.WHISPER_MODEL, runner.WHISPER_MODEL_DIR, runner.WHISPER_ALLOW_DOWNLOAD]).toEqual([
      'base',
      '/tools/whisper-models',
      true,
    ]);
    expect([pod.WHISPER_MODEL, pod.WHISPER_ALLOW_DOWNLOAD]).toEqual(['medium', false]);
    expect(runner.WHISPER_DOWNLOAD_BASE).toBe(pod.WHISPER_DOWNLOAD_BASE);
  });

  it("refuses what the stages would refuse, with the stages' own messages", () => {
    expect(() => parseRunnerEnv({ WHISPER_MODEL: 'Base Model' })).toThrow(
      /WHISPER_MODEL: expected a whisper model name such as medium or base\.en/,
    );
    expect(() => parseRunnerEnv({ WHISPER_ALLOW_DOWNLOAD: 'maybe' })).toThrow(
      /WHISPER_ALLOW_DOWNLOAD: expected true or false/,
    );
    expect(() => parseRunnerEnv({ FFMPEG_PATH: '' })).toThrow(/FFMPEG_PATH: expected length >= 1/);
  });
});
