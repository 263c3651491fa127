import { once } from 'node:events';
import { text } from 'node:stream/consumers';
import type { Db } from '@pronielts/shared/db';
import { openMigratedPostgres } from '@pronielts/shared/testing';
import { createTestDatabase } from '@pronielts/test-services';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CopyReader } from '../src/export/copy-out.ts';
import type { LineRow } from '../src/export/release.repository.ts';

const services = inject('services');
let db: Db;
let url: string;
let drop: () => Promise<void>;

beforeAll(async () => {
  const t = await createTestDatabase(services);
  ({ url, drop } = t);
  db = await openMigratedPostgres(url, 2);
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

/** n rows of generated items, made by the server. */
const rows = (n: number) => sql<LineRow>`
  select 'gi_' || lpad(i::text, 8, '0') as item_id, null::text as content, 'follow_up' as kind, 'run-1' as run_id,
         'work' as topic, '7.0' as target_band, null::text as source_segment_id, 'm' as model, 'p' as prompt_version,
         ('{"questions": ["question ' || i || '?"]}')::jsonb::text as payload
  from generate_series(1, ${n}) i order by 1`;

async function readerBackends(): Promise<number> {
  const r = await sql<{ n: number }>`
    select count(*)::int as n from pg_stat_activity
    where application_name = 'pronielts-export-read' and datname = current_database()`.execute(db);
  return r.rows[0]?.n ?? 0;
}

describe('CopyReader', () => {
  it('streams a query as JSON lines, several queries one after another on one connection', async () => {
    const reader = await CopyReader.open(url, db);
    try {
      const first = await text(reader.lines(rows(3)));
      expect(
        first
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l).id),
      ).toEqual(['gi_00000001', 'gi_00000002', 'gi_00000003']);
      const second = reader.lines(rows(1000));
      expect((await text(second)).split('\n').filter(Boolean)).toHaveLength(1000);
      expect(second.lines).toBe(1000);
    } finally {
      await reader.close();
    }
  });

  it.each([
    ['on its own', false],
    ['inside an imported snapshot', true],
  ])(
    'lets go of its connection when the consumer stops in the middle of a large result (%s)',
    async (_, withSnapshot) => {
      const reader = await db.connection().execute(async (conn) => {
        if (!withSnapshot) return CopyReader.open(url, db);
        await sql`start transaction isolation level repeatable read`.execute(conn);
        const snapshot = (await sql<{ s: string }>`select pg_export_snapshot() as s`.execute(conn)).rows[0]
          ?.s;
        const r = await CopyReader.open(url, db, { snapshot: snapshot ?? '' });
        await sql`commit`.execute(conn);
        return r;
      });
      const stream = reader.lines(rows(500_000));
      await once(stream, 'data');
      stream.destroy(new Error('the upload failed'));
      // The server is still sending; closing must not wait for a COPY nobody reads any more (a commit
      // queued behind it did: this test hung before the reader stopped committing its read-only work).
      await reader.close();
      // The server notices the closed socket on its next write: then no reader backend is left.
      let left = await readerBackends();
      for (let i = 0; i < 50 && left > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = await readerBackends();
      }
      expect(left).toBe(0);
    },
    20_000,
  );
});
