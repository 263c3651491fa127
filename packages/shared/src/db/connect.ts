import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import type { DbConfig } from '../config/index.ts';
import type { Database } from '../contracts/rows.ts';
import { StageError } from '../errors.ts';

export type Db = Kysely<Database>;

export interface OpenDbOptions {
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** Called for errors on idle pooled connections (which would otherwise crash the process). */
  onPoolError?: (err: Error) => void;
}

/** Connects to PostgreSQL (DATABASE_URL) or opens the embedded PGlite database. Always `destroy()` it. */
export async function openDb(config: DbConfig, opts: OpenDbOptions = {}): Promise<Db> {
  return config.kind === 'postgres'
    ? openPostgres(config.url, config.poolMax, opts)
    : openPglite(config.dataDir);
}

/** pg is loaded only when a real PostgreSQL is configured. */
async function openPostgres(url: string, poolMax: number, opts: OpenDbOptions): Promise<Db> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? 'pronielts',
  });
  pool.on('error', (err) => opts.onPoolError?.(err));
  // A connection error on a client in use (the server shut down or restarted) is an 'error' event on
  // that client, which without a listener is an uncaught exception; its queries fail on their own, so
  // the stage reports the database as unavailable where it uses it.
  pool.on('connect', (client) => client.on('error', (err) => opts.onPoolError?.(err)));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * PGlite is one process's database: a second process opening the same data dir would corrupt it, so the
 * embedded default takes an exclusive lock file and reports a busy DB as a dependency that is unavailable.
 */
async function openPglite(dataDir: string): Promise<Db> {
  fs.mkdirSync(dataDir, { recursive: true });
  const release = acquireLock(path.join(dataDir, '.pronielts.lock'));
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create(dataDir);
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    // Release the lock when the Kysely instance is destroyed.
    const destroy = db.destroy.bind(db);
    db.destroy = async () => {
      try {
        await destroy();
      } finally {
        release();
      }
    };
    return db;
  } catch (err) {
    release();
    throw err;
  }
}

function acquireLock(lockPath: string): () => void {
  for (let tries = 0; tries < 2; tries++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && (holder === process.pid || isAlive(holder))) {
        throw new StageError(
          'db_unavailable',
          `embedded database ${path.dirname(lockPath)} is in use by process ${holder}; run stages one at a time or set DATABASE_URL`,
        );
      }
      fs.rmSync(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new StageError('db_unavailable', `could not lock embedded database at ${path.dirname(lockPath)}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
