import { pipeline } from 'node:stream/promises';
import type { Db } from '@pronielts/shared/db';
import type { RawBuilder } from 'kysely';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { CopyTextToLines } from './lines.ts';
import type { LineRow } from './release.repository.ts';

/**
 * A connection of its own that streams release rows with PostgreSQL's COPY … TO STDOUT: the server
 * streams them, nothing is paged, and backpressure reaches the server. The rows become JSON lines in
 * {@link CopyTextToLines} (the exporter's core renders them while the server reads the next ones).
 *
 * With `snapshot`, the connection reads inside a read-only repeatable-read transaction that imports that
 * exported snapshot (`SET TRANSACTION SNAPSHOT`): it sees exactly what the exporting transaction saw when
 * it exported it, before its own writes.
 */
export class CopyReader {
  readonly #client: pg.Client;
  readonly #db: Db;
  /** The lines of the query in flight, if any. */
  #active: CopyTextToLines | undefined;

  private constructor(client: pg.Client, db: Db) {
    this.#client = client;
    this.#db = db;
  }

  static async open(databaseUrl: string, db: Db, o: { snapshot?: string } = {}): Promise<CopyReader> {
    const client = new pg.Client({
      connectionString: databaseUrl,
      application_name: 'pronielts-export-read',
    });
    // A connection error (the server shut down, the socket reset) arrives as an 'error' event on the
    // client; without a listener it would be an uncaught exception. It fails the query in flight, and
    // the stage reports the database as unavailable.
    let reader: CopyReader | undefined;
    client.on('error', (err) => reader?.fail(err));
    await client.connect();
    reader = new CopyReader(client, db);
    try {
      // Rows are sorted by item with a sort of their own (the default work_mem of 4 MB spills every few
      // thousand rows). One process per query: the reader runs beside the transaction writing the change,
      // and parallel workers would take the cores that write needs, for more CPU in total and no gain in
      // wall time; JIT compilation only adds start-up to a query that is one scan, one join and one
      // sort. No nested loops: every query here reads whole kinds, and the planner cannot see how many
      // ids a release set's array holds (it guesses ten per row), so it would probe generated_items once
      // per id.
      await client.query(
        `set work_mem = '128MB'; set max_parallel_workers_per_gather = 0; set jit = off; set enable_nestloop = off`,
      );
      if (o.snapshot !== undefined) {
        await client.query('start transaction isolation level repeatable read, read only');
        await client.query(`set transaction snapshot ${client.escapeLiteral(o.snapshot)}`);
      }
      return reader;
    } catch (err) {
      await reader.close();
      throw err;
    }
  }

  /** Ends the query in flight with `err` (the connection failed under it). */
  fail(err: Error): void {
    this.#active?.destroy(err);
  }

  /** One query's rows as JSON lines. Queries on one reader run one after another. */
  lines(query: RawBuilder<LineRow>): CopyTextToLines {
    const out = new CopyTextToLines();
    this.#active = out;
    const text = inline(query.compile(this.#db), this.#client);
    pipeline(this.#client.query(copyTo(`copy (${text}) to stdout`)), out).catch((err) => out.destroy(err));
    return out;
  }

  /**
   * Ends the connection. The transaction only read, so there is nothing to commit, and a commit would
   * queue behind a COPY whose consumer stopped (its rows no longer read): it would wait forever. With a
   * query still active, ending the client closes the socket, and the server ends the backend.
   */
  async close(): Promise<void> {
    await this.#client.end();
  }
}

/** COPY takes no bind parameters: inline them as escaped literals (numbers and strings only). */
function inline(compiled: { sql: string; parameters: readonly unknown[] }, client: pg.Client): string {
  return compiled.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const v = compiled.parameters[Number(n) - 1];
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v === 'string') return client.escapeLiteral(v);
    throw new Error(`cannot inline a ${typeof v} parameter into COPY`);
  });
}
