import path from 'node:path';
import { type OllamaTestServer, slow, startOllamaTestServer } from '@pronielts/ollama-test-server';
import { openMigratedPostgres, seedTranscript } from '@pronielts/shared/testing';
import { crashTrials, createTestDatabase, spawnStage } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// Crash injection (tooling/test-services crashTrials): the shipped classifier is SIGKILLed at random
// points while it classifies eight segments (answers from the Ollama-protocol server, 60 ms each), then
// run again. Every segment ends with exactly one classification.

const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const services = inject('services');
let server: OllamaTestServer;

beforeAll(async () => {
  server = await startOllamaTestServer();
  server.setDefault(
    slow(60, {
      kind: 'valid',
      content: {
        part: '1',
        kind: 'candidate_answer',
        topic: 'hometown',
        band: 6.5,
        cefr: 'B2',
        pronunciation_focus: ['linking'],
        confidence: 0.8,
        rationale: 'A relevant answer.',
        suspicious_instructions: false,
      },
    }),
  );
});
afterAll(async () => server?.close());

describe('classifier crash injection', () => {
  it('classifies every segment exactly once after a kill at a random point and a re-run', async () => {
    const report = await crashTrials({
      world: async () => {
        const t = await createTestDatabase(services);
        const db = await openMigratedPostgres(t.url, 1);
        const segments = await seedTranscript(
          db,
          'crash',
          Array.from({ length: 8 }, (_, i) => ({
            text: `Answer ${i}: I often walk to the park near my flat.`,
          })),
        );
        const env = { DATABASE_URL: t.url, OLLAMA_HOST: server.url, LLM_CONCURRENCY: '2' };
        return {
          run: () => spawnStage(CLI, ['--run-id', 'crash'], env),
          verify: async () => {
            const rows = await db.selectFrom('classifications').select(['segment_id', 'status']).execute();
            expect(rows.map((r) => r.segment_id).sort()).toEqual([...segments].sort());
            expect(rows.every((r) => r.status === 'ok')).toBe(true);
          },
          teardown: async () => {
            await db.destroy();
            await t.drop();
          },
        };
      },
    });
    process.stderr.write(`classify crash trials (seed ${report.seed}): ${JSON.stringify(report.outcomes)}\n`);
    expect(report.outcomes.some((o) => o.killed)).toBe(true);
  }, 600_000);
});
