import fs from 'node:fs';
import path from 'node:path';
import type { StageSummary } from '../contracts/index.ts';
import type { StageRunEnd } from '../db/index.ts';
import { EXIT, type ExitCode, exitCodeFor, StageError, toStageError } from '../errors.ts';
import { describeError, type Logger, type Redactor } from '../log/index.ts';
import type { StageResult } from './definition.ts';

/** How the work ended: it returned, it threw, or it outlived its grace period and was abandoned. */
export type Outcome = { result: StageResult } | { error: unknown } | { abandoned: string };

export interface EndContext {
  stage: StageSummary['stage'];
  runId: StageSummary['runId'];
  attempt: number;
  started: number;
  /** Why the work was asked to stop ("received SIGTERM"), if it was. */
  interrupted: string | undefined;
  xcomDir: string;
  log: Logger;
  redact: Redactor;
}

/**
 * The exit code, the attempt's record and the summary for an outcome. Work that returned or threw after
 * a signal is `interrupted` (unless it failed for a reason of its own), work abandoned past its grace
 * period is `stopped`; both exit 75. `report` writes the summary: to XCom on success, and as the last log line.
 */
export function endingOf(o: Outcome, at: EndContext) {
  const durationMs = Date.now() - at.started;
  const result = 'result' in o ? o.result : undefined;
  const err = 'error' in o ? o.error : undefined;
  const stopped = 'abandoned' in o;
  const interrupted =
    stopped || (at.interrupted !== undefined && !(err instanceof StageError && err.code !== 'interrupted'));
  const se = stopped
    ? new StageError('interrupted', `${o.abandoned}; work in flight was abandoned`)
    : result
      ? interrupted
        ? new StageError('interrupted', 'stopped by signal before all items were done')
        : undefined
      : interrupted
        ? new StageError('interrupted', at.interrupted ?? 'interrupted')
        : toStageError(err);
  const code: ExitCode = !se ? EXIT.ok : interrupted ? EXIT.unavailable : exitCodeFor(err);
  const message = se && describeError(se, at.redact).message;
  // Stage-specific fields first: they can add to the summary but never replace its common fields.
  const summary = {
    ...result?.extra,
    stage: at.stage,
    runId: at.runId,
    status: !se ? 'ok' : interrupted ? 'interrupted' : 'failed',
    attempt: at.attempt,
    durationMs,
    ...(result ? { counts: result.counts, rejections: result.rejections ?? {} } : {}),
    ...(se ? { error: { code: se.code, message: message ?? '' }, exitCode: code } : {}),
  };
  const record: StageRunEnd = {
    status: stopped ? 'stopped' : !se ? 'succeeded' : interrupted ? 'interrupted' : 'failed',
    exitCode: code,
    durationMs,
    summary: result ? summary : null,
    errorCode: se?.code ?? null,
    errorMessage: message?.slice(0, 4000) ?? null,
  };
  const report = () => {
    if (!se) at.log.info({ summary, xcom: writeXcom(at.xcomDir, summary) }, 'stage finished');
    else if (stopped) at.log.warn({ summary }, `${o.abandoned}: exiting 75`);
    else if (interrupted) at.log.warn({ summary }, 'stage interrupted');
    else if (code === EXIT.bug)
      at.log.error({ summary, stack: at.redact(String((err as Error)?.stack ?? '')) }, 'stage failed');
    else at.log.error({ summary }, 'stage failed');
  };
  return { code, record, report };
}

function writeXcom(dir: string, summary: unknown): boolean {
  if (!fs.existsSync(dir)) return false;
  const file = path.join(dir, 'return.json');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(summary));
  fs.renameSync(tmp, file);
  return true;
}
