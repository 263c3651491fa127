import { spawnSync } from 'node:child_process';
import { usage } from '@pronielts/shared/stage';
import { describe, expect, it } from 'vitest';
import { env } from './env.ts';
import { stage } from './stage.ts';

describe('classifier stage definition', () => {
  it('documents its env in --help', () => {
    const text = usage(stage);
    for (const name of ['OLLAMA_HOST', 'LLM_MODEL', 'LLM_FALLBACK_MODEL']) expect(text).toContain(name);
  });

  it('parses its env with the seed defaults', () => {
    const parsed = env.parse({});
    expect(parsed.MINIO_ENDPOINT).toBeUndefined();
    expect(parsed).toMatchObject({ LLM_MODEL: 'llama3.1:8b', LLM_FALLBACK_MODEL: 'mistral:7b' });
  });
});

describe('pronielts-classifier CLI', () => {
  it('prints its usage on --help and exits 0', () => {
    const res = spawnSync(process.execPath, ['src/cli.ts', '--help'], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('Usage: pronielts-classifier --run-id <id>');
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

  it('exits 2 (not 75: retrying cannot fix it) when OLLAMA_HOST carries credentials', () => {
    const res = spawnSync(process.execPath, ['src/cli.ts', '--run-id', 'r1'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, OLLAMA_HOST: 'http://user:hunter22@127.0.0.1:11434' },
    });
    expect(res.status).toBe(2);
    expect(res.stdout.trim().split('\n')).toHaveLength(1);
    expect(res.stdout).toContain('OLLAMA_HOST: must not carry a user name or password');
    expect(res.stdout).not.toContain('hunter22');
  });
});
