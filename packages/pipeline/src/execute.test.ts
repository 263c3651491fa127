import { Writable } from 'node:stream';
import { createLogger, trackProgress } from '@pronielts/shared/log';
import { describe, expect, it } from 'vitest';
import { type ProgressEvent, viewAfter } from './execute.ts';
import { progressText } from './progress/format.ts';

/** The lines a stage's logger writes, as the runner receives them from the child's stdout. */
function stageLog() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: createLogger({ base: { stage: 'classify', run_id: 'r1' }, destination }) };
}

function shownAfter(lines: Record<string, unknown>[]): string[] {
  let shown: ProgressEvent = {};
  const texts: string[] = [];
  for (const line of lines) {
    const next = viewAfter(shown, line);
    if (!next) continue;
    shown = next;
    texts.push(progressText(shown));
  }
  return texts;
}

describe("the runner's progress view reads the stages' progress records", () => {
  it('shows a bar over the items planned, the item just done, and warnings, but no other line', () => {
    const { lines, log } = stageLog();
    const progress = trackProgress(log, { planned: 2, skipped: 1 });
    log.info({ segment_id: 's1', kind: 'answer' }, 'segment classified');
    progress.done('answer · work · band 6');
    log.warn({ segment_id: 's2', reason: 'invalid_json' }, 'classification rejected');
    progress.done('rejected: invalid_json');
    expect(shownAfter(lines)).toEqual([
      '[--------------------] 0/2 items',
      '[##########----------] 1/2 items · answer · work · band 6',
      '[##########----------] 1/2 items · classification rejected: invalid_json',
      '[####################] 2/2 items · rejected: invalid_json',
    ]);
  });

  it('says there is nothing to do when every item was done before', () => {
    const { lines, log } = stageLog();
    trackProgress(log, { planned: 0, skipped: 7 });
    expect(shownAfter(lines)).toEqual(['nothing to do: all 7 item(s) done before']);
  });

  it('ignores a line that only looks like progress', () => {
    expect(viewAfter({}, { level: 'info', msg: 'progress', progress: { done: 'three' } })).toBeUndefined();
  });
});
