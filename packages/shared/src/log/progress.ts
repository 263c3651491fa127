import { z } from 'zod';
import type { Logger } from 'pino';

/**
 * A stage's progress over its items, as one typed log record: `{"msg":"progress","progress":{…}}`.
 * Stages emit it through `trackProgress`; the pipeline runner parses it with `ProgressRecord` for its
 * bars, so no one reads the wording of other log lines.
 */
export const PROGRESS_MSG = 'progress';

export const Progress = z.object({
  /** Items this attempt works on; absent when the stage learns them as it goes (pages). */
  planned: z.number().int().nonnegative().optional(),
  /** Of those, finished so far (produced or rejected). */
  done: z.number().int().nonnegative(),
  /** Items earlier attempts finished, which this one skips. */
  skipped: z.number().int().nonnegative(),
  /** The item just finished and how it ended, in a few words. */
  item: z.string().optional(),
});
export type Progress = z.infer<typeof Progress>;

export const ProgressRecord = z.object({ msg: z.literal(PROGRESS_MSG), progress: Progress });

/**
 * Logs the plan (done 0) at once, then one record per `done(item)`: `n` items at a time for a page.
 * Safe under concurrency: the count is this process's own.
 */
export function trackProgress(log: Logger, plan: { planned?: number; skipped?: number }) {
  let done = 0;
  const emit = (item?: string) => {
    const progress: Progress = { ...plan, done, skipped: plan.skipped ?? 0, ...(item ? { item } : {}) };
    log.info({ progress }, PROGRESS_MSG);
  };
  emit();
  return {
    done(item?: string, n = 1) {
      done += n;
      emit(item);
    },
  };
}
