import { spawnSync } from 'node:child_process';
import { usage } from '@pronielts/shared/stage';
import { describe, expect, it } from 'vitest';
import { env } from './env.ts';
import { stage } from './stage.ts';

describe('transcriber stage definition', () => {
  it('documents its env in --help', () => {
    const text = usage(stage);
    for (const name of ['WHISPER_MODEL', 'WHISPER_MODEL_DIR']) expect(text).toContain(name);
  });

  it('parses its env with the seed defaults', () => {
    const parsed = env.parse({});
    expect(parsed.MINIO_ENDPOINT).toBeUndefined();
    expect(parsed).toMatchObject({ WHISPER_MODEL: 'medium', WHISPER_MODEL_DIR: '/root/.cache/whisper' });
  });
});

describe('transcriber input', () => {
  it('takes a mapped batch of media ids', () => {
    const id = 'a'.repeat(64);
    expect(
      stage.input({ runId: 'r' as never, values: { 'media-ids': `${id},${id}` }, positionals: [] }).mediaIds,
    ).toEqual([id, id]);
  });

  it('rejects a media id that is not a sha256', () => {
    expect(() =>
      stage.input({ runId: 'r' as never, values: { 'media-ids': '../etc' }, positionals: [] }),
    ).toThrow(/mediaIds/);
  });
});

describe('pronielts-transcriber CLI', () => {
  it('prints its usage on --help and exits 0', () => {
    const res = spawnSync(process.execPath, ['src/cli.ts', '--help'], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('Usage: pronielts-transcriber --run-id <id>');
  });

  it('exits 2 with one line when --run-id is missing', () => {
    const res = spawnSync(process.execPath, ['src/cli.ts'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(res.status).toBe(2);
    expect(res.stdout.trim().split('\n')).toHaveLength(1);
    expect(res.stdout).toContain('--run-id is required');
  });
});
