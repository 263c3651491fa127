import { setTimeout as sleep } from 'node:timers/promises';
import type { SharedEnv } from '../config/index.ts';
import { type ExitCode, exitCodeFor } from '../errors.ts';
import { createRedactor, describeError } from '../log/index.ts';
import { attemptRecord } from './attempt.ts';
import type { StageDefinition, StageResult } from './definition.ts';
import { endingOf, type Outcome } from './exit.ts';
import { parseInvocation, rawSecrets } from './invocation.ts';
import { stageResources } from './resources.ts';
import { watchSignals } from './signals.ts';

/**
 * The stage harness: argv/env → run() → exit code. Every stage CLI is `main(definition)`.
 *
 *   parse argv and env (bad → exit 2, one line naming the problem)            invocation.ts
 *   open the DB and the object store (down → exit 75), migrate/check schema   resources.ts
 *   record a stage_runs row (attempt n), call run(ctx), record how it ended   attempt.ts
 *   write the summary to return.json (when that folder exists) and as the last log line   exit.ts
 *
 * SIGTERM/SIGINT abort `ctx.signal` (signals.ts): the stage stops taking new items, run() returns, the
 * attempt is recorded as interrupted and the process exits 75. If run() does not return within the grace
 * period, or at a second signal, the work is abandoned: the attempt is recorded as stopped and the
 * process exits 75 without waiting for it. Work a stage had finished before the signal stays done
 * (items are committed one by one); the item in flight is rolled back with the process's connections.
 */

export interface RunOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
}

/** How long a stage told to stop waits past its grace period to record its attempt and close its connections. */
const STOP_RECORD_MS = 3000;

/** Runs a stage and returns its exit code. `main()` is this plus process.exit. */
export async function runStage<I, E extends SharedEnv>(
  def: StageDefinition<I, E>,
  opts: RunOptions = {},
): Promise<ExitCode> {
  const call = parseInvocation(def, opts.argv ?? process.argv.slice(2), opts.env ?? process.env);
  if (typeof call === 'number') return call;
  const { runId, input, env, log, redact } = call;
  const started = Date.now();
  const shutdown = watchSignals(env.STAGE_SHUTDOWN_GRACE_MS, log);
  const resources = stageResources(def.name, env, log, redact);
  const record = attemptRecord({ stage: def.name, runId, dbName: resources.dbName }, log, redact);
  let attempt = 1;

  const work = async (): Promise<StageResult> => {
    const { db, store, session } = await resources.open();
    const lease = await record.begin(db, session);
    attempt = lease.row.attempt;
    if (lease.abandoned > 0) {
      log.warn(
        { abandoned: lease.abandoned },
        'earlier attempts whose process ended unrecorded: marked abandoned',
      );
    }
    const ctx = { stage: def.name, runId, attempt, input, env, db, store, signal: shutdown.signal };
    return def.run({ ...ctx, log: log.child({ attempt }) });
  };
  const outcome: Outcome = await Promise.race([
    work().then(
      (result) => ({ result }),
      (error: unknown) => ({ error: resources.explain(error) }),
    ),
    shutdown.overdue.then((abandoned) => ({ abandoned })),
  ]);

  const ending = endingOf(outcome, {
    stage: def.name,
    runId,
    attempt,
    started,
    interrupted: shutdown.signal.aborted
      ? String(shutdown.signal.reason?.message ?? 'interrupted')
      : undefined,
    xcomDir: env.AIRFLOW_XCOM_DIR,
    log,
    redact,
  });
  // Once the work may run no longer, neither the record nor the closing may hold the process much longer:
  // abandoned work can keep its connections busy until it ends.
  const bounded = (p: Promise<unknown>) =>
    Promise.race([p, shutdown.overdue.then(() => sleep(STOP_RECORD_MS, undefined, { ref: false }))]);
  try {
    await bounded(record.end(ending.record));
  } finally {
    await bounded(resources.close());
    shutdown.dispose();
  }
  // After closing, so that the summary is the last line even when abandoned work is still logging.
  ending.report();
  return ending.code;
}

/** The entry point of a stage CLI: runs the stage and exits with its code. */
export async function main<I, E extends SharedEnv>(
  def: StageDefinition<I, E>,
  argv: string[] = process.argv.slice(2),
): Promise<never> {
  const redact = createRedactor(rawSecrets(process.env));
  const fatal =
    (kind: string) =>
    (reason: unknown): never => {
      // A stray error (e.g. a driver socket error) must not become a crash trace: classify it and exit.
      const code = exitCodeFor(reason);
      const line = {
        level: 'fatal',
        stage: def.name,
        msg: kind,
        err: describeError(reason, redact),
        exitCode: code,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      return process.exit(code);
    };
  process.on('unhandledRejection', fatal('unhandled rejection'));
  process.on('uncaughtException', fatal('uncaught exception'));
  process.exit(await runStage(def, { argv }).catch(fatal('stage harness failed')));
}
