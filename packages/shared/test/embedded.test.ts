import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
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
