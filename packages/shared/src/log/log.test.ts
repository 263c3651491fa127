import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, createRedactor, describeError, ProgressRecord, trackProgress } from './index.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, destination };
}

describe('logging', () => {
  it('writes one JSON object per line with level, time, message and base fields', () => {
    const { lines, destination } = capture();
    createLogger({ base: { stage: 'ingest', run_id: 'r1' }, destination }).info({ item: 3 }, 'item done');
    expect(lines).toHaveLength(1);
    const obj = JSON.parse(lines[0] ?? '');
    expect(obj).toMatchObject({ level: 'info', stage: 'ingest', run_id: 'r1', item: 3, msg: 'item done' });
    expect(new Date(obj.time).toString()).not.toBe('Invalid Date');
  });

  it('redacts secret-named fields, nested ones included', () => {
    const { lines, destination } = capture();
    createLogger({ destination }).info({ password: 'pw-123456', cfg: { secretKey: 'sk-123456' } }, 'cfg');
    expect(lines[0]).not.toContain('pw-123456');
    expect(lines[0]).not.toContain('sk-123456');
    expect(lines[0]).toContain('[redacted]');
  });

  it('scrubs known secret values and URL passwords from messages and error text', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, secrets: ['s3cr3t-value'] });
    log.error(
      { err: describeError(new Error('auth failed for s3cr3t-value')) },
      'connect postgres://app:hunter22@db:5432/x',
    );
    expect(lines[0]).not.toContain('s3cr3t-value');
    expect(lines[0]).not.toContain('hunter22');
    expect(lines[0]).toContain('postgres://app:[redacted]@db:5432/x');
  });

  it('ignores secrets too short to scrub safely', () => {
    expect(createRedactor(['ab'])('a b ab')).toBe('a b ab');
  });
});

describe('progress records', () => {
  it('logs the plan, then one record per finished item, each parsing as the record the runner reads', () => {
    const { lines, destination } = capture();
    const progress = trackProgress(createLogger({ destination }), { planned: 3, skipped: 2 });
    progress.done('a: ok');
    progress.done(undefined, 2);
    const records = lines.map((l) => ProgressRecord.parse(JSON.parse(l)).progress);
    expect(records).toEqual([
      { planned: 3, done: 0, skipped: 2 },
      { planned: 3, done: 1, skipped: 2, item: 'a: ok' },
      { planned: 3, done: 3, skipped: 2 },
    ]);
  });

  it('leaves planned out when the stage does not know it in advance', () => {
    const { lines, destination } = capture();
    trackProgress(createLogger({ destination }), {}).done('page of 50', 50);
    expect(ProgressRecord.parse(JSON.parse(lines[1] ?? '')).progress).toEqual({
      done: 50,
      skipped: 0,
      item: 'page of 50',
    });
  });
});
