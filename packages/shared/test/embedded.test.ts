import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Database } from '../src/contracts/rows.ts';
import { FolderStore } from '../src/storage/index.ts';
import { dbContract } from './contracts/db.contract.ts';
import { objectStoreContract } from './contracts/object-store.contract.ts';

// The embedded defaults run the same contract suites as the real servers (see *.int.test.ts).

objectStoreContract('folder (embedded default)', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pronielts-folder-'));
  return new FolderStore(root);
});

dbContract('PGlite (embedded default)', async () => {
  return new Kysely<Database>({ dialect: new PGliteDialect({ pglite: await PGlite.create() }) });
});

describe('folder store: incomplete uploads', () => {
  it('removes the temporary files of killed puts older than the expiry, and keeps younger ones', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pronielts-folder-'));
    const store = new FolderStore(root);
    await store.ensureBuckets();
    const incoming = path.join(root, store.bucketName('raw'), '.incoming');
    const old = path.join(incoming, 'old.part');
    const young = path.join(incoming, 'young.part');
    fs.writeFileSync(old, 'half');
    fs.writeFileSync(young, 'half');
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    fs.utimesSync(old, twoDaysAgo, twoDaysAgo);
    const r = await store.expireIncompleteUploads(1);
    expect(r.aborted).toBe(1);
    expect(Object.values(r.rule)).toEqual(['none', 'none', 'none']);
    expect([fs.existsSync(old), fs.existsSync(young)]).toEqual([false, true]);
  });
});
