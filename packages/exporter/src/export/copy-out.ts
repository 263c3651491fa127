import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/**
 * Writes one release file with PostgreSQL's COPY … TO STDOUT: the server streams the lines, nothing is
 * paged or parsed here. CSV format with a quote and delimiter that canonical jsonb text never contains
 * (it escapes control characters) makes every row exactly its JSON text plus a newline.
 */
export async function copyReleaseFile(
  databaseUrl: string,
  releaseId: string,
  kind: string,
  file: string,
): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'pronielts-export-copy' });
  await client.connect();
  try {
    const lit = (v: string) => client.escapeLiteral(v);
    const query = `copy (
        select c.content::text from export_items ei
        join release_content c on c.content_sha256 = ei.content_sha256
        where ei.export_id = ${lit(releaseId)} and ei.kind = ${lit(kind)}
        order by ei.item_id
      ) to stdout with (format csv, delimiter e'\\x02', quote e'\\x01')`;
    await pipeline(client.query(copyTo(query)), fs.createWriteStream(file));
  } finally {
    await client.end();
  }
}
