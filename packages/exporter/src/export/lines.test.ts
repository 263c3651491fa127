import { describe, expect, it } from 'vitest';
import { mergeLines, Tally } from './lines.ts';

type Row = { id: string; run_id: string; model: string; prompt_version: string; [key: string]: unknown };
/** The run's rows as cursorRows gives them: lines with their fields, in batches of two. */
const batches = (rows: Row[]) => {
  const lines = rows.map((r) => ({ ...r, line: JSON.stringify(r) }));
  return Array.from({ length: Math.ceil(lines.length / 2) }, (_, i) => lines.slice(2 * i, 2 * i + 2));
};
const item = (id: string, run_id: string, extra: Record<string, unknown> = {}): Row => ({
  id,
  run_id,
  model: 'm',
  prompt_version: 'p1',
  ...extra,
});
const line = (x: Row) => JSON.stringify(x);

async function merge(previous: string[], next: Row[], runId = 'r2') {
  const tally = new Tally();
  let out = '';
  async function* from<T>(xs: T[]) {
    yield* xs;
  }
  for await (const chunk of mergeLines('drill', from(previous), from(batches(next)), runId, tally))
    out += chunk;
  return { lines: out.split('\n').filter(Boolean), tally };
}

describe('mergeLines', () => {
  const a = item('a', 'r1');
  const b = item('b', 'r2');
  const c = item('c', 'r1');
  const cases: Array<{
    name: string;
    previous: Row[];
    next: Row[];
    ids: string[];
    diff: [added: number, changed: number, removed: number];
  }> = [
    {
      name: 'first release: every row is added',
      previous: [],
      next: [a, b],
      ids: ['a', 'b'],
      diff: [2, 0, 0],
    },
    {
      name: 'nothing from the run: other runs stay',
      previous: [a, c],
      next: [],
      ids: ['a', 'c'],
      diff: [0, 0, 0],
    },
    { name: 'a new item between others', previous: [a, c], next: [b], ids: ['a', 'b', 'c'], diff: [1, 0, 0] },
    {
      name: 'the same line again is no change',
      previous: [a, b],
      next: [b],
      ids: ['a', 'b'],
      diff: [0, 0, 0],
    },
    {
      name: 'a revised line is changed',
      previous: [a, b],
      next: [{ ...b, band: 7 }],
      ids: ['a', 'b'],
      diff: [0, 1, 0],
    },
    {
      name: "the run's item it no longer has is removed",
      previous: [a, b, c],
      next: [],
      ids: ['a', 'c'],
      diff: [0, 0, 1],
    },
    {
      name: "another run's item the run now has is taken over",
      previous: [a],
      next: [item('a', 'r2')],
      ids: ['a'],
      diff: [0, 1, 0],
    },
    {
      name: 'items after the last previous line',
      previous: [a],
      next: [b, item('d', 'r2')],
      ids: ['a', 'b', 'd'],
      diff: [2, 0, 0],
    },
  ];
  for (const t of cases)
    it(t.name, async () => {
      const { lines, tally } = await merge(t.previous.map(line), t.next);
      expect(lines.map((l) => JSON.parse(l).id)).toEqual(t.ids);
      expect([tally.added, tally.changed, tally.removed]).toEqual(t.diff);
      expect(tally.counts).toEqual(t.ids.length ? { drill: t.ids.length } : {});
    });

  it('keeps previous lines byte for byte and counts items per run and provenance', async () => {
    const kept = '{"id":"a","run_id":"r1","model":"old","prompt_version":"p0","text":"caf\\u00e9"}';
    const { lines, tally } = await merge([kept], [b]);
    expect(lines[0]).toBe(kept);
    expect(tally.runCounts).toEqual({ r1: 1, r2: 1 });
    expect([...tally.models].sort()).toEqual(['m', 'old']);
    expect([...tally.promptVersions].sort()).toEqual(['p0', 'p1']);
  });

  it('refuses a previous release line that is not JSON, naming it', async () => {
    await expect(merge([line(a), '{"id":"b",'], [])).rejects.toThrow(/line 2 is not JSON: \{"id":"b",/);
  });

  it('refuses input out of id order instead of writing a wrong release', async () => {
    await expect(merge([line(c), line(a)], [])).rejects.toThrow(/not in id order: c before a/);
    await expect(merge([], [b, a])).rejects.toThrow(/not in id order: b before a/);
  });

  it('writes in chunks, not a line at a time', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => item(`x${String(i).padStart(5, '0')}`, 'r2'));
    const tally = new Tally();
    const chunks: string[] = [];
    async function* from<T>(xs: T[]) {
      yield* xs;
    }
    for await (const chunk of mergeLines('drill', from([]), from(batches(many)), 'r2', tally))
      chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.length).toBeLessThan(50);
    expect(chunks.join('').split('\n').filter(Boolean)).toHaveLength(5000);
  });
});
