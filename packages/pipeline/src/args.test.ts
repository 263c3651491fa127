import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli } from './args.ts';
import { localRootsFor, resolveSource, runIdFor } from './run-id.ts';
import { selectStages } from './stages.ts';

describe('parseCli', () => {
  it('takes sources and options after run', () => {
    expect(parseCli(['run', 'a.ogg', 'https://x/b.mp3', '--from', 'classify', '--plain'])).toEqual({
      kind: 'run',
      args: { sources: ['a.ogg', 'https://x/b.mp3'], from: 'classify', noDownload: false, plain: true },
    });
  });
  it('rejects an unknown stage, --from with --only, and a run with neither sources nor a run id', () => {
    expect(parseCli(['run', 'a.ogg', '--only', 'exporter'])).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('--only "exporter": expected one of ingest, transcribe'),
    });
    expect(parseCli(['run', 'a.ogg', '--from', 'classify', '--only', 'export'])).toMatchObject({
      message: '--from and --only exclude each other',
    });
    expect(parseCli(['run', '--from', 'validate'])).toMatchObject({
      message: '--from validate without sources needs --run-id <id>',
    });
    expect(parseCli(['run', '--run-id', 'r1'])).toMatchObject({
      message: expect.stringContaining('no sources'),
    });
    expect(parseCli(['run', '--only', 'export', '--run-id', 'r1'])).toMatchObject({ kind: 'run' });
    expect(parseCli(['run', 'a.ogg', '--bogus'])).toMatchObject({ kind: 'error' });
    expect(parseCli([])).toMatchObject({ kind: 'error', message: 'missing command: run' });
    expect(parseCli(['--help'])).toEqual({ kind: 'help' });
  });
});

describe('stage selection', () => {
  it('--from resumes at a stage, --only runs one, default runs all six in order', () => {
    expect(selectStages({}).map((s) => s.name)).toEqual([
      'ingest',
      'transcribe',
      'classify',
      'paraphrase',
      'validate',
      'export',
    ]);
    expect(selectStages({ from: 'paraphrase' }).map((s) => s.name)).toEqual([
      'paraphrase',
      'validate',
      'export',
    ]);
    expect(selectStages({ only: 'transcribe' }).map((s) => s.name)).toEqual(['transcribe']);
  });
});

describe('run ids and sources', () => {
  it('the same sources (in any order, duplicates aside) are the same run; other sources another', () => {
    const a = runIdFor(['/s/a.ogg', '/s/b.ogg']);
    expect(a).toMatch(/^local-[0-9a-f]{12}$/);
    expect(runIdFor(['/s/b.ogg', '/s/a.ogg', '/s/a.ogg'])).toBe(a);
    expect(runIdFor(['/s/a.ogg'])).not.toBe(a);
    expect(runIdFor(['/s/a.ogg'], 'My Run 7')).toBe('my-run-7');
  });
  it('local paths become absolute against the folder the command was typed in; URLs stay', () => {
    expect(resolveSource('samples/x.ogg', '/home/u/repo')).toBe(path.join('/home/u/repo', 'samples/x.ogg'));
    expect(resolveSource('s3://raw/x.ogg', '/home/u')).toBe('s3://raw/x.ogg');
    expect(localRootsFor(['/a/x.ogg', '/a/y.ogg', 'https://h/z.mp3', '/b/c/z.wav'])).toEqual(['/a', '/b/c']);
  });
});
