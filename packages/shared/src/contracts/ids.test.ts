import { describe, expect, it } from 'vitest';
import { assertKey } from '../storage/object-store.ts';
import { RunId, toRunId } from './ids.ts';

describe('run ids', () => {
  it('normalises Airflow run ids deterministically into safe key segments', () => {
    const id = toRunId('manual__2026-11-22T10:00:00.123456+00:00');
    expect(id).toBe('manual__2026-11-22t10-00-00.123456-00-00');
    expect(toRunId('manual__2026-11-22T10:00:00.123456+00:00')).toBe(id);
    expect(() => assertKey(`probe/${id}/x`)).not.toThrow();
  });

  it.each(['../../etc/passwd', '/abs', '..', 'a/b'])('never yields a path-like id from %j', (raw) => {
    let id: string | undefined;
    try {
      id = toRunId(raw);
    } catch {
      return; // refused outright is fine too
    }
    expect(id).not.toContain('/');
    expect(id).not.toContain('..');
    expect(RunId.safeParse(id).success).toBe(true);
  });
});
