import { parseArgs } from 'node:util';
import { dbConfigFrom } from '../config/index.ts';
import { EXIT, exitCodeFor, StageError, toStageError } from '../errors.ts';
import { createLogger, createRedactor, describeError } from '../log/index.ts';
import { loadToolEnv } from '../log/tool-env.ts';
import { openDb } from './connect.ts';
import { migrateDown, migrateToLatest, migrationStatus } from './migrate.ts';

const HELP = `Usage: pronielts-migrate [latest|status|down]

Applies the automation-DB migrations (timestamped, in order) to DATABASE_URL, or to the embedded
PGlite database under PRONIELTS_DATA_DIR when DATABASE_URL is unset.

  latest   apply every pending migration (default); a second run is a no-op
  status   list migrations and when each was applied
  down     revert the newest applied migration

Exit codes: 0 done · 2 bad usage or configuration · 75 database unavailable · 1 a migration failed
`;

/** `pronielts-migrate` (also `pronielts-exporter migrate`): returns the exit code. */
export async function migrateCli(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const command = positionals[0] ?? 'latest';
  const boot = createLogger({ base: { stage: 'migrate' } });
  if (!['latest', 'status', 'down'].includes(command)) {
    boot.error(`unknown command ${JSON.stringify(command)} (expected latest, status or down)`);
    return EXIT.invalidInput;
  }
  const tool = loadToolEnv('migrate', boot);
  if (!tool) return EXIT.invalidInput;
  const { env, secrets, log } = tool;
  const config = dbConfigFrom(env);
  let db: Awaited<ReturnType<typeof openDb>> | undefined;
  try {
    db = await openDb(config, { applicationName: 'pronielts-migrate', onPoolError: () => {} });
    log.info({ db: config.kind, command }, 'migrate');
    if (command === 'status') {
      for (const m of await migrationStatus(db)) {
        log.info(
          { migration: m.name, applied_at: m.executedAt?.toISOString() ?? null },
          m.executedAt ? 'applied' : 'pending',
        );
      }
      return EXIT.ok;
    }
    const report = command === 'down' ? await migrateDown(db) : await migrateToLatest(db);
    for (const step of report.applied)
      log.info({ migration: step.name, direction: step.direction, status: step.status }, 'step');
    log.info(
      { applied: report.applied.length, known: report.known.length },
      report.applied.length ? 'done' : 'nothing to do',
    );
    return EXIT.ok;
  } catch (err) {
    const se = err instanceof StageError ? err : toStageError(err);
    const code = exitCodeFor(err);
    log.error(
      { code: se.code, err: describeError(err, createRedactor(secrets)), exitCode: code },
      'migrate failed',
    );
    return code;
  } finally {
    await db?.destroy();
  }
}
