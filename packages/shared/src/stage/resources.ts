import { type DbConfig, dbConfigFrom, type SharedEnv, storageConfigFrom } from '../config/index.ts';
import { type Db, migrateToLatest, openDb, pendingMigrations } from '../db/index.ts';
import { isConnectionError, StageError, toStageError } from '../errors.ts';
import { describeError, type Logger, type Redactor } from '../log/index.ts';
import { createObjectStore, type ObjectStore } from '../storage/index.ts';

/**
 * Opens the attempt's connections and closes whatever was opened. `open` migrates the embedded DB or
 * checks a real one's schema, and makes the buckets ready; a database failure is reported as one that
 * names the DB (`dbName`), and `explain` does the same for a DB failure that escapes the stage's work.
 */
export function stageResources(stage: string, env: SharedEnv, log: Logger, redact: Redactor) {
  const config = dbConfigFrom(env);
  const dbName = describeDb(config);
  const opened: { db?: Db; session?: Db; store?: ObjectStore } = {};
  const onPoolError = (e: Error) =>
    log.warn({ err: describeError(e, redact) }, `idle connection to the ${dbName} failed`);

  /** The DB, the attempt's own DB session (PostgreSQL: see beginAttempt) and the object store. */
  const open = async () => {
    const storageConfig = storageConfigFrom(env);
    const db = await openDb(config, { applicationName: `pronielts-${stage}`, onPoolError });
    opened.db = db;
    const store = createObjectStore(storageConfig);
    opened.store = store;
    log.info({ db: config.kind, storage: store.location }, 'starting');
    // The buckets are made ready while the database's schema is checked (the object-store client
    // loads while the database answers); a database failure is reported first, without waiting for them.
    const buckets = store.ensureBuckets();
    buckets.catch(() => undefined);
    try {
      if (config.kind === 'pglite') {
        await migrateToLatest(db);
      } else {
        const pending = await pendingMigrations(db);
        if (pending.length > 0) {
          throw new StageError(
            'config_invalid',
            `database schema is behind (pending: ${pending.join(', ')}); run pronielts-migrate latest first`,
          );
        }
        opened.session = await openDb(
          { ...config, poolMax: 1 },
          { applicationName: `pronielts-${stage}-attempt`, onPoolError },
        );
      }
    } catch (err) {
      throw dbError(err, dbName);
    }
    await buckets;
    return { db, store, session: opened.session ?? null };
  };

  return {
    dbName,
    open,
    explain: (err: unknown): unknown => (fromDb(err, config) ? dbError(err, dbName) : err),
    close: async (): Promise<void> => {
      await Promise.allSettled([opened.db?.destroy(), opened.session?.destroy(), opened.store?.close()]);
    },
  };
}

/** "automation DB at host:port" (or the embedded one's folder): what outage messages name. */
export function describeDb(config: DbConfig): string {
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
export function dbError(err: unknown, what: string): unknown {
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
function fromDb(err: unknown, config: DbConfig): boolean {
  if (config.kind !== 'postgres' || err instanceof StageError || !isConnectionError(err)) return false;
  const e = err as { code?: string; port?: number; message?: string };
  if (e.code && /^[0-9A-Z]{5}$/.test(e.code)) return true; // a SQLSTATE
  const port = Number(new URL(config.url).port || 5432);
  return e.port === port || /Connection terminated|not queryable/i.test(e.message ?? '');
}
