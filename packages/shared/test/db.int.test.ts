import { createTestDatabase } from '@pronielts/test-services';
import { afterAll, inject } from 'vitest';
import { openDb } from '../src/db/index.ts';
import { dbContract } from './contracts/db.contract.ts';

const services = inject('services');
const drops: Array<() => Promise<void>> = [];

dbContract(`PostgreSQL (${services.pg.description})`, async () => {
  const { url, drop } = await createTestDatabase(services);
  drops.push(drop);
  return openDb({ kind: 'postgres', url, poolMax: 8 });
});

afterAll(async () => {
  for (const drop of drops) await drop();
});
