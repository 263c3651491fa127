import path from 'node:path';
import { CueCardOutput, DrillsOutput, FollowUpsOutput } from '@pronielts/shared/contracts';
import type { Db } from '@pronielts/shared/db';
import { openMigratedPostgres } from '@pronielts/shared/testing';
import { createTestDatabase, requireTool, resolveLiveOllama, spawnStage } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { modelAnswersSchema } from '../src/prompts.ts';
import { seedClassified } from './fixtures.ts';

// The paraphraser/generator against a real Ollama server: the one scripts/services starts (Ollama built
// from its Go module, serving a tiny random-weight model) or a developer's at OLLAMA_HOST with LLM_MODEL.
// The tiny model writes noise, but through Ollama's grammar every answer must fit the schemas: that is
// what is checked here, with each stored item re-validated. Scripted failures (invalid JSON, 500s, resets)
// stay with the protocol test server (paraphrase.int.test.ts).

// The shipped entrypoint (the image's ENTRYPOINT, the runner's file), built before the integration tests.
const CLI = path.resolve(import.meta.dirname, '../dist/bundle/cli.js');
const services = inject('services');
const target = await resolveLiveOllama(services);
const live = requireTool('Ollama', target.why) ? target.live : undefined;
if (live) process.stderr.write(`paraphraser live suite: ${live.title}\n`);
const HOST = live?.host ?? '';
const MODEL = live?.model ?? '';

describe.skipIf(!live)(`paraphraser / generator against a real Ollama — ${live?.title ?? target.why}`, () => {
  let db: Db;
  let drop: () => Promise<void>;
  let env: Record<string, string>;
  beforeAll(async () => {
    const t = await createTestDatabase(services);
    drop = t.drop;
    db = await openMigratedPostgres(t.url, 2);
    env = { DATABASE_URL: t.url, OLLAMA_HOST: HOST, LLM_MODEL: MODEL };
  });
  afterAll(async () => {
    await db?.destroy();
    await drop?.();
  });

  /** A classified examiner question and candidate answer (the classifier's output contract). */
  const seed = (runId: string) =>
    seedClassified(
      db,
      runId,
      [
        { text: 'What do you do?', kind: 'examiner_question', topic: 'work', band: 5 },
        {
          text: 'I am nurse, it is good job. I think it is very rewarding.',
          kind: 'candidate_answer',
          topic: 'work',
          band: 5,
          focus: ['th_sounds', 'word_stress'],
        },
      ],
      { model: MODEL, promptVersion: 'classify-v2' },
    );

  it('writes schema-valid model answers for the requested bands, drills, a cue card and follow-ups; a re-run makes zero calls', async () => {
    const [, answerId] = await seed('lp-1');
    const p = spawnStage(CLI, ['--run-id', 'lp-1'], { ...env, PARAPHRASE_TARGET_BANDS: '6,7,8' });
    expect(await p.exit, p.lines.slice(-3).join('\n')).toBe(0);
    // 4 tasks: model answers and drills for the answer, a cue card and follow-ups for the topic.
    expect(p.summary().counts).toMatchObject({ in: 4 });
    const counts = p.summary().counts ?? { out: 0, rejected: 0 };
    expect(counts.out + counts.rejected).toBe(4);
    // The grammar makes every answer schema-shaped; what it cannot express (distinct list elements) is
    // checked after decoding. The tiny model's noise may fail that, or, held by the grammar to end each
    // question with "?" (a character it is not biased towards), run into the token limit: a recorded
    // rejection either way, never a crash or an invalid item.
    const rejected = await db.selectFrom('llm_rejections').selectAll().where('run_id', '=', 'lp-1').execute();
    for (const r of rejected) {
      expect(`${r.reason}: ${r.detail}`).toMatch(/^(schema_violation: .*holds the same|truncated: )/);
    }
    if (!live?.tiny) expect(counts.out).toBeGreaterThan(0);
    const items = await db.selectFrom('generated_items').selectAll().where('run_id', '=', 'lp-1').execute();
    const byKind = (k: string) => items.filter((i) => i.kind === k);
    for (const i of items) expect(i.model).toBe(MODEL);

    const answers = byKind('model_answer');
    expect(answers.length).toBeGreaterThanOrEqual(1);
    const answerSchema = modelAnswersSchema([6, 7, 8]).shape.answers.element;
    for (const a of answers) {
      const { source_text, source_band, question, ...answer } = a.payload as Record<string, unknown>;
      expect(answerSchema.safeParse(answer).error?.issues ?? []).toEqual([]);
      expect([6, 7, 8]).toContain(Number(a.target_band));
      expect(a.source_segment_id).toBe(answerId);
      expect({ source_text, source_band, question }).toEqual({
        source_text: 'I am nurse, it is good job. I think it is very rewarding.',
        source_band: 5,
        question: 'What do you do?',
      });
    }
    expect(new Set(answers.map((a) => Number(a.target_band))).size).toBe(answers.length);
    for (const d of byKind('drill')) {
      expect(DrillsOutput.shape.drills.element.safeParse(d.payload).error?.issues ?? []).toEqual([]);
    }
    const cards = byKind('cue_card');
    const followUps = byKind('follow_up');
    // Every task ends as items or as a recorded rejection.
    for (const kind of ['drill', 'cue_card', 'follow_up']) {
      expect(byKind(kind).length > 0 || rejected.some((r) => r.task === kind), kind).toBe(true);
    }
    expect(cards.length).toBeLessThanOrEqual(1);
    expect(followUps.length).toBeLessThanOrEqual(1);
    for (const c of cards) {
      const { topic, ...card } = c.payload as Record<string, unknown>;
      expect(topic).toBe('work');
      expect(CueCardOutput.safeParse(card).error?.issues ?? []).toEqual([]);
    }
    for (const f of followUps) {
      const { topic: _topic, ...qs } = f.payload as Record<string, unknown>;
      expect(FollowUpsOutput.safeParse(qs).error?.issues ?? []).toEqual([]);
    }

    const again = spawnStage(CLI, ['--run-id', 'lp-1'], env);
    expect(await again.exit).toBe(0);
    expect(again.summary()).toMatchObject({ counts: { out: 0, skipped: 4 }, llmCalls: 0 });
  });

  it('exits 75 naming the host and both models when neither exists on the server', async () => {
    await seed('lp-2');
    const p = spawnStage(CLI, ['--run-id', 'lp-2'], {
      ...env,
      LLM_MODEL: 'no-such-model:1b',
      LLM_FALLBACK_MODEL: 'nor-this:1b',
    });
    expect(await p.exit).toBe(75);
    const message = p.summary().error?.message ?? '';
    expect(message).toContain(HOST);
    expect(message).toContain('no-such-model:1b');
    expect(message).toContain('nor-this:1b');
  });
});
