import path from 'node:path';
import { type OllamaTestServer, slow, startOllamaTestServer } from '@pronielts/ollama-test-server';
import { openMigratedPostgres } from '@pronielts/shared/testing';
import { crashTrials, createTestDatabase, spawnStage } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { byTask, seedClassified } from './fixtures.ts';

// Crash injection (tooling/test-services crashTrials): the shipped paraphraser is SIGKILLed at random
// points while it generates for four classified segments (answers from the Ollama-protocol server,
// 60 ms each), then run again. Every generation task ends with exactly the items an uninterrupted run makes.

const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const services = inject('services');
let server: OllamaTestServer;

beforeAll(async () => {
  server = await startOllamaTestServer();
  server.script((req) => slow(60, byTask(req)));
});
afterAll(async () => server?.close());

describe('paraphraser crash injection', () => {
  it('makes each item exactly once after a kill at a random point and a re-run', async () => {
    let expected: string[] | undefined;
    const report = await crashTrials({
      world: async () => {
        const t = await createTestDatabase(services);
        const db = await openMigratedPostgres(t.url, 1);
        await seedClassified(
          db,
          'crash',
          Array.from({ length: 4 }, (_, i) => ({
            text: `Answer ${i}: I work as a nurse, which I find rewarding because I help people.`,
            kind: 'candidate_answer',
            topic: 'work_study',
            focus: ['th_sounds'],
          })),
        );
        const env = { DATABASE_URL: t.url, OLLAMA_HOST: server.url, LLM_CONCURRENCY: '2' };
        return {
          run: () => spawnStage(CLI, ['--run-id', 'crash'], env),
          verify: async () => {
            const items = await db.selectFrom('generated_items').select(['id', 'task_key']).execute();
            const rejected = await db.selectFrom('llm_rejections').select('task_key').execute();
            const done = [...items.map((i) => i.id), ...rejected.map((r) => `rejected:${r.task_key}`)].sort();
            expect(new Set(done).size).toBe(done.length);
            expect(items.length).toBeGreaterThan(0);
            expected ??= done; // the uninterrupted reference run
            expect(done).toEqual(expected);
          },
          teardown: async () => {
            await db.destroy();
            await t.drop();
          },
        };
      },
    });
    process.stderr.write(
      `paraphrase crash trials (seed ${report.seed}): ${JSON.stringify(report.outcomes)}\n`,
    );
    expect(report.outcomes.some((o) => o.killed)).toBe(true);
  }, 600_000);
});
