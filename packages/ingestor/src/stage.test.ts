import { spawnSync } from 'node:child_process';
import { usage } from '@pronielts/shared/stage';
import { describe, expect, it } from 'vitest';
import { stage } from './stage.ts';

const runId = 'run-1' as never;

describe('ingestor stage definition', () => {
  it('documents its options and env in --help', () => {
    const text = usage(stage);
    expect(text).toContain('--source <uri>');
    expect(text).toContain('--sources-json <json>');
    expect(text).toContain('INGEST_DOWNLOAD_DIR');
    expect(text).toContain('MINIO_ENDPOINT');
  });

  it('merges --source flags and --sources-json into one list', () => {
    const input = stage.input({
      runId,
      values: { source: ['https://example.org/a.mp3'], 'sources-json': '["s3://bucket/b.wav"]' },
      positionals: [],
    });
    expect(input.sources).toEqual(['https://example.org/a.mp3', 's3://bucket/b.wav']);
  });

  it.each([
    [{}, /sources/],
    [{ 'sources-json': 'not json' }, /not JSON/],
    [{ 'sources-json': '[1, 2]' }, /JSON array of strings/],
  ])('rejects %j as invalid input', (values, message) => {
    expect(() => stage.input({ runId, values, positionals: [] })).toThrow(message);
  });
});

describe('pronielts-ingestor CLI', () => {
  it('prints its usage on --help and exits 0', () => {
    const res = spawnSync(process.execPath, ['src/cli.ts', '--help'], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('Usage: pronielts-ingestor --run-id <id>');
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
