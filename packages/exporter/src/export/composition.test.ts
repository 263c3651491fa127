import type { ReleaseGroup } from '@pronielts/shared/contracts';
import { describe, expect, it } from 'vitest';
import { nextComposition, type ReleaseRow, recordedComposition, summaryOf } from './release.repository.ts';

const g = (
  kind: string,
  run_id: string,
  n: number,
  model: string | null = 'm',
  prompt = 'p1',
): ReleaseGroup => ({
  kind,
  run_id,
  model,
  prompt_version: prompt,
  n,
});

describe('nextComposition', () => {
  it('adds the change’s groups to the previous release’s and drops groups left empty', () => {
    const previous = [g('drill', 'r1', 3), g('segment', 'r1', 2)];
    const delta = [g('drill', 'r2', 5), g('segment', 'r2', 1), g('segment', 'r1', -2), g('drill', 'r1', -1)];
    expect(nextComposition(previous, delta)).toEqual([
      g('drill', 'r1', 2),
      g('drill', 'r2', 5),
      g('segment', 'r2', 1),
    ]);
  });

  it('keeps groups that differ only by model or prompt version apart, in code-unit order', () => {
    const next = nextComposition(
      [],
      [
        g('follow_up', 'r', 1, 'b'),
        g('follow_up', 'r', 1, null),
        g('follow_up', 'r', 1, 'B'),
        g('cue_card', 'r', 1),
      ],
    );
    expect(next.map((x) => [x.kind, x.model])).toEqual([
      ['cue_card', 'm'],
      ['follow_up', null],
      ['follow_up', 'B'],
      ['follow_up', 'b'],
    ]);
  });

  it('refuses a change that retires more items of a group than the previous release holds', () => {
    expect(() => nextComposition([g('drill', 'r1', 1)], [g('drill', 'r1', -2)])).toThrow(
      /composition diverged.*"drill","r1".*-1 items/,
    );
  });
});

describe('summaryOf', () => {
  it('derives counts per kind, item total, runs, models and prompt versions', () => {
    expect(
      summaryOf([g('drill', 'r2', 2, null), g('drill', 'r1', 1, 'x', 'p2'), g('cue_card', 'r1', 4, 'x')]),
    ).toEqual({
      counts: { cue_card: 4, drill: 3 },
      items: 7,
      runIds: ['r1', 'r2'],
      models: ['x'],
      promptVersions: ['p1', 'p2'],
    });
  });
});

describe('recordedComposition', () => {
  const head = (composition: ReleaseGroup[] | null, item_count: number) =>
    ({ composition, item_count }) as ReleaseRow;
  it('is empty before the first release, and the recorded one when it adds up to the item count', () => {
    expect(recordedComposition(undefined)).toEqual([]);
    expect(recordedComposition(head([g('drill', 'r', 2)], 2))).toEqual([g('drill', 'r', 2)]);
  });
  it('is unusable for a release written before compositions, or one that does not add up', () => {
    expect(recordedComposition(head(null, 2))).toBeUndefined();
    expect(recordedComposition(head([g('drill', 'r', 2)], 3))).toBeUndefined();
  });
});
