import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { envHelp } from '../config/describe.ts';
import { dbConfigFrom, parseEnv, type SharedEnv, secretsOf, storageConfigFrom } from '../config/index.ts';
import { type RunId, type StageName, type StageSummary, toRunId } from '../contracts/index.ts';
import {
  type AttemptLease,
  beginAttempt,
  type Db,
  ensurePipelineRun,
  finishStageRun,
  migrateToLatest,
  openDb,
  pendingMigrations,
} from '../db/index.ts';
import { EXIT, type ExitCode, exitCodeFor, isConnectionError, StageError, toStageError } from '../errors.ts';
import { createLogger, createRedactor, describeError, type Logger } from '../log/index.ts';
import { createObjectStore, type ObjectStore } from '../storage/index.ts';

/**
 * The stage harness: argv/env → run() → exit code. Every stage CLI is `main(definition)`.
 *
 *   parse argv and env (bad → exit 2, one line naming the problem)
 *   open the DB and the object store (down → exit 75), migrate the embedded DB / check a real one
 *   record a stage_runs row (attempt n), call run(ctx), record how it ended
 *   write the summary to /airflow/xcom/return.json (when that folder exists) and as the last log line
 *
 * SIGTERM/SIGINT abort `ctx.signal`: the stage stops taking new items, run() returns, the attempt is
 * recorded as interrupted and the process exits 75. If run() does not return within the grace period,
 * the attempt is recorded as stopped and the process exits 75 anyway; a second signal does the same at
 * once. Work a stage had finished before the signal stays done (items are committed one by one).
 */

export type OptionSpec = {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  description: string;
  /** Placeholder in --help, e.g. <uri>. */
  arg?: string;
};

export interface StageContext<I, E> {
  stage: StageName;
  runId: RunId;
  attempt: number;
  input: I;
  env: E;
  log: Logger;
  db: Db;
  store: ObjectStore;
  /** Aborted on SIGTERM/SIGINT: check it between items and return early. */
  signal: AbortSignal;
}

export interface StageResult {
  counts: StageSummary['counts'];
  rejections?: Record<string, number>;
  /** Stage-specific summary fields (media ids, release id...). */
  extra?: Record<string, unknown>;
}

export interface StageDefinition<I, E extends SharedEnv> {
  name: StageName;
  /** The binary name in --help. */
  bin: string;
  description: string;
  options: Record<string, OptionSpec>;
  env: z.ZodType<E>;
  /** Builds the validated input from parsed argv (run id already normalised). */
  input: (args: { runId: RunId; values: Record<string, unknown>; positionals: string[] }) => I;
  run: (ctx: StageContext<I, E>) => Promise<StageResult>;
}

export interface RunOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Defaults to installing real signal handlers on `process`. */
  installSignalHandlers?: boolean;
}

/** How long a stopping stage waits to record its attempt as stopped before it exits anyway. */
const STOP_RECORD_MS = 3000;

const COMMON_OPTIONS: Record<string, OptionSpec> = {
  'run-id': { type: 'string', description: 'pipeline run id (an Airflow run_id is normalised)', arg: '<id>' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function usage<I, E extends SharedEnv>(def: StageDefinition<I, E>): string {
  const opts = { ...COMMON_OPTIONS, ...def.options };
  const optLines = Object.entries(opts).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.arg ?? '<value>'}` : ''}`;
    return `  ${flag.padEnd(34)} ${o.description}${o.multiple ? ' (repeatable)' : ''}`;
  });
  return [
    `Usage: ${def.bin} --run-id <id> [options]`,
    '',
    def.description,
    '',
    'Options:',
    ...optLines,
    '',
    'Environment:',
    ...envHelp(def.env),
    '',
    'Exit codes: 0 done (rejected items are data, not failures) · 2 invalid input or configuration ·',
    '            75 a dependency is unavailable or the stage was interrupted (retry) · 1 a bug',
    '',
  ].join('\n');
}

/** Secret-looking env values, read before validation so even a config error cannot leak them. */
function rawSecrets(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v && /SECRET|PASSWORD|TOKEN|ACCESS_KEY/i.test(k)) out.push(v);
  }
  try {
    return [...out, ...secretsOf({ DATABASE_URL: env.DATABASE_URL } as SharedEnv)];
  } catch {
    return out;
  }
}

function writeXcom(dir: string, summary: unknown): boolean {
  if (!fs.existsSync(dir)) return false;
  const file = path.join(dir, 'return.json');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(summary));
  fs.renameSync(tmp, file);
  return true;
}

/** Runs a stage and returns its exit code. `main()` is this plus process.exit. */
export async function runStage<I, E extends SharedEnv>(
  def: StageDefinition<I, E>,
  opts: RunOptions = {},
): Promise<ExitCode> {
  const argv = opts.argv ?? process.argv.slice(2);
  const rawEnv = opts.env ?? process.env;
  const redact = createRedactor(rawSecrets(rawEnv));
  const boot = createLogger({ level: 'info', base: { stage: def.name }, secrets: rawSecrets(rawEnv) });

  // --- argv -------------------------------------------------------------------------------------
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries({ ...COMMON_OPTIONS, ...def.options }).map(([k, o]) => [
          k,
          { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
    values = parsed.values as Record<string, unknown>;
    positionals = parsed.positionals;
  } catch (err) {
    boot.error({ code: 'input_invalid' }, `${(err as Error).message} (see --help)`);
    return EXIT.invalidInput;
  }
  if (values.help) {
    process.stdout.write(usage(def));
    return EXIT.ok;
  }

  // --- env and input ----------------------------------------------------------------------------
  let env: E;
  let runId: RunId;
  let input: I;
  try {
    env = parseEnv(def.env, rawEnv);
    if (typeof values['run-id'] !== 'string' || values['run-id'] === '') {
      throw new StageError('input_invalid', '--run-id is required');
    }
    try {
      runId = toRunId(values['run-id']);
    } catch {
      throw new StageError(
        'input_invalid',
        `--run-id ${JSON.stringify(values['run-id'])} cannot be made a run id`,
      );
    }
    input = def.input({ runId, values, positionals });
  } catch (err) {
    const se = toStageError(err, 'input_invalid');
    boot.error({ code: se.code }, redact(se.message));
    return exitCodeFor(se);
  }

  const log = createLogger({
    level: env.LOG_LEVEL,
    base: { stage: def.name, run_id: runId },
    secrets: [...rawSecrets(rawEnv), ...secretsOf(env)],
  });

  // --- the attempt's resources and its record ----------------------------------------------------
  const dbConfig = dbConfigFrom(env);
  const dbName = describeDb(dbConfig);
  const started = Date.now();
  let db: Db | undefined;
  let session: Db | undefined;
  let store: ObjectStore | undefined;
  let lease: AttemptLease | undefined;
  let attempt = 1;
  /** Records how the attempt ended, once (the work and the grace timer may both try). */
  let recorded = false;
  const record = async (end: Parameters<typeof finishStageRun>[2]): Promise<void> => {
    if (recorded || !db || !lease) return;
    recorded = true;
    try {
      await finishStageRun(db, lease.row.id, end);
    } catch (e) {
      log.warn({ err: describeError(e, redact) }, 'could not record how the attempt ended');
    }
    await lease.release().catch(() => undefined);
  };

  // --- signals ----------------------------------------------------------------------------------
  const ac = new AbortController();
  let forced: ((code: ExitCode) => void) | undefined;
  const forcedExit = new Promise<ExitCode>((resolve) => {
    forced = resolve;
  });
  let graceTimer: NodeJS.Timeout | undefined;
  /** The work did not wind down in time: record the attempt as stopped and exit 75 without it. */
  const stopNow = async (why: string) => {
    log.warn({ grace_ms: env.STAGE_SHUTDOWN_GRACE_MS }, `${why}: exiting 75`);
    // Bounded: a DB that does not answer must not keep a stopped stage alive.
    const recording = record({
      status: 'stopped',
      exitCode: EXIT.unavailable,
      durationMs: Date.now() - started,
      summary: null,
      errorCode: 'interrupted',
      errorMessage: `${why}; work in flight was abandoned`,
    });
    await Promise.race([recording, sleep(STOP_RECORD_MS)]);
    forced?.(EXIT.unavailable);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      void stopNow(`second signal (${sig})`);
      return;
    }
    log.warn(
      { signal: sig, grace_ms: env.STAGE_SHUTDOWN_GRACE_MS },
      'stopping: no new items, finishing the current one',
    );
    ac.abort(new StageError('interrupted', `received ${sig}`));
    graceTimer = setTimeout(() => void stopNow('grace period over'), env.STAGE_SHUTDOWN_GRACE_MS);
    graceTimer.unref();
  };
  const install = opts.installSignalHandlers ?? true;
  if (install) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  const body = async (): Promise<ExitCode> => {
    try {
      // --- dependencies ---------------------------------------------------------------------------
      const storageConfig = storageConfigFrom(env);
      const onPoolError = (e: Error) =>
        log.warn({ err: describeError(e, redact) }, `idle connection to the ${dbName} failed`);
      db = await openDb(dbConfig, { applicationName: `pronielts-${def.name}`, onPoolError });
      store = createObjectStore(storageConfig);
      log.info({ db: dbConfig.kind, storage: store.location }, 'starting');
      // The buckets are made ready while the database's schema is checked (the object-store client
      // loads while the database answers); a database failure is reported first, without waiting for them.
      const buckets = store.ensureBuckets();
      buckets.catch(() => undefined);
      try {
        if (dbConfig.kind === 'pglite') {
          await migrateToLatest(db);
        } else {
          const pending = await pendingMigrations(db);
          if (pending.length > 0) {
            throw new StageError(
              'config_invalid',
              `database schema is behind (pending: ${pending.join(', ')}); run pronielts-migrate latest first`,
            );
          }
        }
      } catch (err) {
        throw dbError(err, dbName);
      }
      await buckets;
      try {
        await ensurePipelineRun(db, runId);
        // A connection of its own holds the attempt's liveness lock (see beginAttempt).
        if (dbConfig.kind === 'postgres') {
          session = await openDb(
            { ...dbConfig, poolMax: 1 },
            { applicationName: `pronielts-${def.name}-attempt`, onPoolError },
          );
        }
        lease = await beginAttempt(db, session ?? null, { runId, stage: def.name, host: os.hostname() });
        attempt = lease.row.attempt;
      } catch (err) {
        throw dbError(err, dbName);
      }
      if (lease.abandoned > 0) {
        log.warn(
          { abandoned: lease.abandoned },
          'earlier attempts whose process ended unrecorded: marked abandoned',
        );
      }

      // --- the work -------------------------------------------------------------------------------
      const result = await def.run({
        stage: def.name,
        runId,
        attempt,
        input,
        env,
        log: log.child({ attempt }),
        db,
        store,
        signal: ac.signal,
      });
      const interrupted = ac.signal.aborted;
      // Stage-specific fields first: they can add to the summary but never replace its common fields.
      const summary: StageSummary & Record<string, unknown> = {
        ...result.extra,
        stage: def.name,
        runId,
        status: interrupted ? 'interrupted' : 'ok',
        attempt,
        durationMs: Date.now() - started,
        counts: result.counts,
        rejections: result.rejections ?? {},
      };
      await record({
        status: interrupted ? 'interrupted' : 'succeeded',
        exitCode: interrupted ? EXIT.unavailable : EXIT.ok,
        durationMs: summary.durationMs,
        summary,
        errorCode: interrupted ? 'interrupted' : null,
        errorMessage: interrupted ? 'stopped by signal before all items were done' : null,
      });
      if (interrupted) {
        log.warn({ summary }, 'stage interrupted');
        return EXIT.unavailable;
      }
      const xcom = writeXcom(env.AIRFLOW_XCOM_DIR, summary);
      log.info({ summary, xcom }, 'stage finished');
      return EXIT.ok;
    } catch (caught) {
      const err = fromDb(caught, dbConfig) ? dbError(caught, dbName) : caught;
      // Stopped by a signal: whatever the work threw while winding down, the attempt was interrupted.
      const interrupted = ac.signal.aborted && !(err instanceof StageError && err.code !== 'interrupted');
      const code = interrupted ? EXIT.unavailable : exitCodeFor(err);
      const se = interrupted
        ? new StageError('interrupted', String(ac.signal.reason?.message ?? 'interrupted'))
        : toStageError(err);
      const described = describeError(se, redact);
      await record({
        status: interrupted ? 'interrupted' : 'failed',
        exitCode: code,
        durationMs: Date.now() - started,
        summary: null,
        errorCode: se.code,
        errorMessage: described.message.slice(0, 4000),
      });
      const summary = {
        stage: def.name,
        runId,
        status: interrupted ? 'interrupted' : 'failed',
        attempt,
        durationMs: Date.now() - started,
        error: { code: se.code, message: described.message },
        exitCode: code,
      };
      if (interrupted) log.warn({ summary }, 'stage interrupted');
      else if (code === EXIT.bug)
        log.error({ summary, stack: redact(String((err as Error)?.stack ?? '')) }, 'stage failed');
      else log.error({ summary }, 'stage failed');
      return code;
    }
  };

  try {
    return await Promise.race([body(), forcedExit]);
  } finally {
    if (graceTimer) clearTimeout(graceTimer);
    if (install) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    await lease?.release().catch(() => undefined);
    await Promise.allSettled([db?.destroy(), session?.destroy(), store?.close()]);
  }
}

/** "automation DB at host:port" (or the embedded one's folder): what outage messages name. */
export function describeDb(config: ReturnType<typeof dbConfigFrom>): string {
  if (config.kind === 'pglite') return `embedded automation DB at ${config.dataDir}`;
  const u = new URL(config.url);
  return `automation DB at ${u.hostname}:${u.port || '5432'}`;
}

/** PostgreSQL SQLSTATEs that mean DATABASE_URL itself is wrong: retrying cannot help. */
const DB_CONFIG_ERRORS: Record<string, string> = {
  '28P01': 'refused the user name or password in DATABASE_URL',
  '28000': 'refused the connection for the user in DATABASE_URL',
  '3D000': 'has no database of the name in DATABASE_URL',
};

/** A driver error from the DB as a stage error that names the DB: bad credentials exit 2, an outage 75. */
function dbError(err: unknown, what: string): unknown {
  if (err instanceof StageError) return err;
  const code = (err as { code?: string }).code;
  const refused = code ? DB_CONFIG_ERRORS[code] : undefined;
  if (refused) return new StageError('config_invalid', `${what} ${refused} (${code})`, { cause: err });
  const se = toStageError(err);
  if (se.code === 'dependency_unavailable') {
    return new StageError('db_unavailable', `${what} unavailable: ${se.message}`, { cause: err });
  }
  return err;
}

/** Whether a connection failure that escaped a stage's work came from its PostgreSQL (not S3 or Ollama, which name themselves). */
function fromDb(err: unknown, config: ReturnType<typeof dbConfigFrom>): boolean {
  if (config.kind !== 'postgres' || err instanceof StageError || !isConnectionError(err)) return false;
  const e = err as { code?: string; port?: number; message?: string };
  if (e.code && /^[0-9A-Z]{5}$/.test(e.code)) return true; // a SQLSTATE
  const port = Number(new URL(config.url).port || 5432);
  return e.port === port || /Connection terminated|not queryable/i.test(e.message ?? '');
}

/** The entry point of a stage CLI: runs the stage and exits with its code. */
export async function main<I, E extends SharedEnv>(
  def: StageDefinition<I, E>,
  argv: string[] = process.argv.slice(2),
): Promise<never> {
  const redact = createRedactor(rawSecrets(process.env));
  const fatal = (kind: string) => (reason: unknown) => {
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
    process.exit(code);
  };
  process.on('unhandledRejection', fatal('unhandled rejection'));
  process.on('uncaughtException', fatal('uncaught exception'));
  const code = await runStage(def, { argv });
  process.exit(code);
}
