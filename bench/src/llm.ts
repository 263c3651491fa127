// LLM-stage throughput (run: pnpm --filter @pronielts/bench bench:llm). The Ollama-protocol test server
// simulates N parallel slots with a fixed per-token latency; the classifier stage is measured next to a
// minimal client that keeps every slot busy with the same requests. Then a re-run must make 0 calls.
import fs from 'node:fs';
import path from 'node:path';
import { startOllamaTestServer } from '@pronielts/ollama-test-server';
import { ClassificationOutput } from '@pronielts/shared/contracts';
import { migrateToLatest, openDb } from '@pronielts/shared/db';
import { jsonSchemaOf } from '@pronielts/shared/llm';
import { seedTranscript } from '@pronielts/shared/testing';
import { Ollama } from 'ollama';
import { progress, table, timed } from './util.ts';

const CACHE = path.resolve(import.meta.dirname, '../.cache/llm');
const CLI = path.resolve(import.meta.dirname, '../../packages/classifier/dist/bundle/cli.js');
const SLOTS = Number(process.env.BENCH_SLOTS ?? 4);
const PER_TOKEN_MS = Number(process.env.BENCH_PER_TOKEN_MS ?? 2);
const N = Number(process.env.BENCH_SEGMENTS ?? 600);

export async function benchLlm(): Promise<void> {
  fs.mkdirSync(CACHE, { recursive: true });
  const server = await startOllamaTestServer({ slots: SLOTS, perTokenMs: PER_TOKEN_MS });
  const texts = Array.from(
    { length: N },
    (_, i) => `Answer ${i}: I usually spend my weekends hiking with friends near the coast.`,
  );
  try {
    // Baseline: a minimal client keeping all slots busy with the same request shape.
    progress(`baseline client: ${N} requests, ${SLOTS} in flight`);
    const client = new Ollama({ host: server.url });
    const format = jsonSchemaOf(ClassificationOutput);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: SLOTS }, async () => {
        while (next < N) {
          const i = next++;
          await client.chat({
            model: 'llama3.1:8b',
            stream: false,
            format,
            options: { temperature: 0, num_predict: 400 },
            messages: [{ role: 'user', content: texts[i] ?? '' }],
          });
        }
      }),
    );
    const baseMs = performance.now() - t0;

    // The stage, on a fresh embedded DB seeded with the same N segments.
    const home = fs.mkdtempSync(path.join(CACHE, 'home-'));
    const dataDir = path.join(home, '.pronielts');
    const db = await openDb({ kind: 'pglite', dataDir: path.join(dataDir, 'db') });
    await migrateToLatest(db);
    await seedTranscript(
      db,
      'bench',
      texts.map((text) => ({ text })),
    );
    await db.destroy();
    server.reset();
    progress(`classifier stage: ${N} segments, LLM_CONCURRENCY=${SLOTS}`);
    const env = {
      PRONIELTS_DATA_DIR: dataDir,
      OLLAMA_HOST: server.url,
      LLM_CONCURRENCY: String(SLOTS),
      LOG_LEVEL: 'warn',
    };
    const stage = await timed('node', [CLI, '--run-id', 'bench'], { cwd: home, env });
    if (stage.code !== 0) throw new Error(`stage failed: ${stage.stdout.slice(-400)}`);
    const stageCalls = server.chatCalls().length;
    const peak = server.maxConcurrent();
    // The stage's fixed cost: the same run again, with nothing left to do.
    server.reset();
    const rerun = await timed('node', [CLI, '--run-id', 'bench'], { cwd: home, env });
    const rerunCalls = server.chatCalls().length;
    fs.rmSync(home, { recursive: true, force: true });

    const work = stage.ms - rerun.ms;
    table(`Classifier throughput: ${N} segments, ${SLOTS} slots, ${PER_TOKEN_MS} ms/token`, [
      { what: 'minimal saturating client', ms: baseMs, 'items/s': (N / baseMs) * 1000, ratio: 1 },
      {
        what: 'classifier stage (whole process)',
        ms: stage.ms,
        'items/s': (N / stage.ms) * 1000,
        ratio: baseMs / stage.ms,
      },
      {
        what: '  excluding fixed start-up (re-run time)',
        ms: work,
        'items/s': (N / work) * 1000,
        ratio: baseMs / work,
      },
    ]);
    console.log(
      `\nthroughput ratio stage/client = ${(baseMs / stage.ms).toFixed(3)} (${(baseMs / work).toFixed(3)} excluding start-up; target >= 0.9)`,
    );
    console.log(`peak requests in flight during the stage: ${peak} of ${SLOTS} slots; calls: ${stageCalls}`);
    console.log(`re-run of the finished run: ${rerunCalls} calls (must be 0), ${rerun.ms.toFixed(0)} ms`);
  } finally {
    await server.close();
  }
}

if (import.meta.main) await benchLlm();
