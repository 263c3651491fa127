import path from 'node:path';
import { openMigratedPostgres } from '@pronielts/shared/testing';
import { crashTrials, createTestDatabase, prng, s3Env, spawnStage } from '@pronielts/test-services';
import { describe, expect, inject, it } from 'vitest';
import { followUps, seedContent } from './fixtures.ts';

// Crash injection (tooling/test-services crashTrials): the shipped `pronielts-exporter validate` is
// SIGKILLed at random points while it checks 400 generated items, then run again. Every item ends with
// exactly the verdict an uninterrupted run gives it.

const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const services = inject('services');
const s3 = services.s3[0];
if (!s3) throw new Error('no S3 server');
const NOUNS =
  'city river market school garden museum festival library train island bakery stadium forest'.split(' ');

describe('validate crash injection', () => {
  it('gives every item exactly one verdict after a kill at a random point and a re-run', async () => {
    let expected: string[] | undefined;
    const report = await crashTrials({
      world: async () => {
        const t = await createTestDatabase(services);
        const db = await openMigratedPostgres(t.url, 1);
        const rand = prng(7);
        const pick = () => NOUNS[Math.floor(rand() * NOUNS.length)];
        await seedContent(db, 'crash', {
          segments: [],
          items: Array.from({ length: 400 }, (_, i) => ({
            name: `fu-${i}`,
            ...followUps([
              `Why would a ${pick()} near the ${pick()} matter to people?`,
              `How has the ${pick()} in your ${pick()} changed?`,
              `Should every ${pick()} have a ${pick()}?`,
            ]),
          })),
        });
        const env = { DATABASE_URL: t.url, ...s3Env(s3) };
        return {
          run: () => spawnStage(CLI, ['validate', '--run-id', 'crash'], env),
          verify: async () => {
            const rows = await db.selectFrom('validations').select(['item_id', 'status']).execute();
            const verdicts = rows.map((r) => `${r.item_id}:${r.status}`).sort();
            expect(new Set(rows.map((r) => r.item_id)).size).toBe(rows.length);
            expect(rows.length).toBeGreaterThanOrEqual(400);
            expected ??= verdicts; // the uninterrupted reference run
            expect(verdicts).toEqual(expected);
          },
          teardown: async () => {
            await db.destroy();
            await t.drop();
          },
        };
      },
    });
    process.stderr.write(`validate crash trials (seed ${report.seed}): ${JSON.stringify(report.outcomes)}\n`);
    expect(report.outcomes.some((o) => o.killed)).toBe(true);
  }, 600_000);
});
