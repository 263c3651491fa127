import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from '@pronielts/shared/db';
import type { RawBuilder } from 'kysely';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/**
 * Streams the `line` column of `query` with PostgreSQL's COPY … TO STDOUT on a connection of its own: the
 * server streams the lines, nothing is paged or parsed here, and backpressure reaches the server. CSV
 * with a quote and delimiter that canonical jsonb text never contains (it escapes control characters)
 * makes every row exactly its JSON text plus a newline.
 */
export function copyLines(databaseUrl: string, query: RawBuilder<{ line: string }>, db: Db): Readable {
  const out = new PassThrough();
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'pronielts-export-copy' });
  const run = async () => {
    await client.connect();
    try {
      // The lines are sorted by item: in memory, not in temporary files (the default work_mem is 4 MB).
      await client.query(`set work_mem = '128MB'`);
      const text = inline(query.compile(db), client);
      await pipeline(
        client.query(
          copyTo(
            `copy (select line from (${text}) q) to stdout with (format csv, delimiter e'\\x02', quote e'\\x01')`,
          ),
        ),
        out,
      );
    } finally {
      await client.end();
    }
  };
  run().catch((err) => out.destroy(err));
  return out;
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
