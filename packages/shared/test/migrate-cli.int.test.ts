import path from 'node:path';
import { createTestDatabase, spawnStage } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const CLI = path.resolve(import.meta.dirname, '../dist/db/migrate-cli.js');
const services = inject('services');

describe('pronielts-migrate against PostgreSQL', () => {
  let url: string;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ url, drop } = await createTestDatabase(services));
  });
  afterAll(async () => drop?.());

  it('applies the migrations, logging each step; a second run is a no-op', async () => {
    const first = spawnStage(CLI, ['latest'], { DATABASE_URL: url });
    expect(await first.exit).toBe(0);
    const steps = first.json().filter((l) => l.msg === 'step');
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((s) => s.status === 'Success')).toBe(true);

    const second = spawnStage(CLI, ['latest'], { DATABASE_URL: url });
    expect(await second.exit).toBe(0);
    expect(second.json().filter((l) => l.msg === 'step')).toEqual([]);
    expect(second.json().at(-1)).toMatchObject({ msg: 'nothing to do', applied: 0 });

    const status = spawnStage(CLI, ['status'], { DATABASE_URL: url });
    expect(await status.exit).toBe(0);
    expect(status.json().filter((l) => l.msg === 'applied').length).toBe(steps.length);
  });

  it('exits 75 when the database is unreachable, without leaking the password', async () => {
    const p = spawnStage(CLI, ['latest'], { DATABASE_URL: 'postgres://u:pa55word-x@127.0.0.1:1/db' });
    expect(await p.exit).toBe(75);
    expect(p.lines.join('\n')).not.toContain('pa55word-x');
  });

  it('exits 2 on an unknown command', async () => {
    expect(await spawnStage(CLI, ['sideways'], { DATABASE_URL: url }).exit).toBe(2);
  });
});
