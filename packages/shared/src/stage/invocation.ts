import { parseArgs } from 'node:util';
import { envHelp } from '../config/describe.ts';
import { parseEnv, type SharedEnv, secretsOf } from '../config/index.ts';
import { type RunId, toRunId } from '../contracts/index.ts';
import { EXIT, type ExitCode, exitCodeFor, StageError, toStageError } from '../errors.ts';
import { createLogger, createRedactor, type Logger, type Redactor } from '../log/index.ts';
import type { OptionSpec, StageDefinition } from './definition.ts';

/** argv and env → what to run: the run id, the stage's input, its env and its logger; --help. */

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
export function rawSecrets(env: NodeJS.ProcessEnv): string[] {
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

/**
 * Parses argv and env for `def`: the run id, the input, the env, a logger whose lines carry the stage and
 * run id and scrub every secret of the env, and a redactor. Returns the exit code instead when there is
 * nothing to run: 0 after --help, 2 (or what the error maps to) after one line naming what is wrong.
 */
export function parseInvocation<I, E extends SharedEnv>(
  def: StageDefinition<I, E>,
  argv: string[],
  rawEnv: NodeJS.ProcessEnv,
): { runId: RunId; input: I; env: E; log: Logger; redact: Redactor } | ExitCode {
  const redact = createRedactor(rawSecrets(rawEnv));
  const boot = createLogger({ level: 'info', base: { stage: def.name }, secrets: rawSecrets(rawEnv) });
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

  try {
    const env = parseEnv(def.env, rawEnv);
    if (typeof values['run-id'] !== 'string' || values['run-id'] === '') {
      throw new StageError('input_invalid', '--run-id is required');
    }
    let runId: RunId;
    try {
      runId = toRunId(values['run-id']);
    } catch {
      throw new StageError(
        'input_invalid',
        `--run-id ${JSON.stringify(values['run-id'])} cannot be made a run id`,
      );
    }
    const input = def.input({ runId, values, positionals });
    const log = createLogger({
      level: env.LOG_LEVEL,
      base: { stage: def.name, run_id: runId },
      secrets: [...rawSecrets(rawEnv), ...secretsOf(env)],
    });
    return { runId, input, env, log, redact };
  } catch (err) {
    const se = toStageError(err, 'input_invalid');
    boot.error({ code: se.code }, redact(se.message));
    return exitCodeFor(se);
  }
}
