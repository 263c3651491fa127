import os from 'node:os';
import {
  type AttemptLease,
  beginAttempt,
  type Db,
  ensurePipelineRun,
  type StageRunEnd,
} from '../db/index.ts';
import { StageError } from '../errors.ts';
import { describeError, type Logger, type Redactor } from '../log/index.ts';
import { dbError } from './resources.ts';

/**
 * The attempt's row in stage_runs: begun once the connections are open, ended once, with how the work
 * ended or, when the harness abandoned it, as `stopped`. An end waits for a begin still in flight, and
 * nothing begins after an end, so no attempt of this process is left `running`.
 */
export function attemptRecord(
  at: { stage: string; runId: string; dbName: string },
  log: Logger,
  redact: Redactor,
) {
  let lease: Promise<AttemptLease> | undefined;
  let ended: Promise<void> | undefined;
  return {
    begin(db: Db, session: Db | null): Promise<AttemptLease> {
      if (ended) return Promise.reject(new StageError('interrupted', 'stopped before the attempt began'));
      lease = (async () => {
        try {
          await ensurePipelineRun(db, at.runId);
          return await beginAttempt(db, session, { runId: at.runId, stage: at.stage, host: os.hostname() });
        } catch (err) {
          throw dbError(err, at.dbName);
        }
      })();
      return lease;
    },
    end(end: StageRunEnd): Promise<void> {
      ended ??= (async () => {
        const begun = await lease?.catch(() => undefined);
        await begun
          ?.end(end)
          .catch((e) =>
            log.warn({ err: describeError(e, redact) }, 'could not record how the attempt ended'),
          );
      })();
      return ended;
    },
  };
}
