import { createHash } from 'node:crypto';
import type { GeneratedKind } from '@pronielts/shared/contracts';
import {
  type ClassifiedSegment,
  finishedTaskKeys,
  type GeneratedItemRecord,
  listClassifiedSegments,
  recordLlmRejection,
  saveGeneratedItems,
} from '@pronielts/shared/db';
import { llmConfigFrom, looksLikeInjection, openLlm } from '@pronielts/shared/llm';
import { trackProgress } from '@pronielts/shared/log';
import { forEachConcurrent, type StageContext, type StageResult } from '@pronielts/shared/stage';
import type { Env } from './env.ts';
import {
  type AnyRequest,
  cueCardRequest,
  drillsRequest,
  followUpsRequest,
  modelAnswersRequest,
  PROMPT_VERSIONS,
} from './prompts.ts';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
export const itemId = (taskKey: string, part: string | number) =>
  `gi_${hash(`${taskKey}\0${part}`).slice(0, 32)}`;

/** One LLM call and what to store from its answer. */
export interface Task {
  key: string;
  kind: GeneratedKind;
  subject: string;
  request: AnyRequest;
  /** Items from a schema-valid answer; an empty list means the answer did not do what was asked. */
  toItems: (value: unknown, suspicious: boolean) => GeneratedItemRecord[];
}

const taskKey = (kind: GeneratedKind, subject: string) => `${kind}:${PROMPT_VERSIONS[kind]}:${subject}`;

/**
 * The generation plan of a run: pure, from its classified segments. What is a candidate answer and what
 * an examiner question is the segmenter's turn, measured from the audio; the LLM's `kind` is advisory,
 * and where the two disagree the segment is counted (`turnDisagreements`) and the turn wins.
 */
export function planTasks(
  runId: string,
  segments: ClassifiedSegment[],
  env: Env,
): { tasks: Task[]; skippedSuspicious: number; turnDisagreements: string[] } {
  const opts = { temperature: env.GENERATE_TEMPERATURE };
  const tasks: Task[] = [];
  let skippedSuspicious = 0;
  const agrees = (s: ClassifiedSegment) =>
    s.kind === (s.turn === 'answer' ? 'candidate_answer' : 'examiner_question');
  const turnDisagreements = segments.filter((s) => !agrees(s)).map((s) => s.segment_id);
  const byPosition = new Map(segments.map((s) => [`${s.transcript_id}:${s.idx}`, s]));
  /** The examiner question an answer replies to: only a clean, classified question counts as context. */
  const questionFor = (seg: ClassifiedSegment): string | null => {
    const prev = byPosition.get(`${seg.transcript_id}:${seg.idx - 1}`);
    return prev && prev.turn === 'question' && !prev.suspicious ? prev.text : null;
  };
  for (const original of segments) {
    const seg = { ...original, previous_text: questionFor(original) };
    if (seg.suspicious) {
      skippedSuspicious++; // never turn text that addresses the model into learning material
      continue;
    }
    if (seg.turn !== 'answer') continue;
    const bands: number[] = [...env.PARAPHRASE_TARGET_BANDS];
    const maKey = taskKey('model_answer', seg.segment_id);
    tasks.push({
      key: maKey,
      kind: 'model_answer',
      subject: seg.segment_id,
      request: modelAnswersRequest(seg, bands, { ...opts, numPredict: env.PARAPHRASE_NUM_PREDICT }),
      toItems: (value, suspicious) => {
        const v = value as {
          answers: Array<{ target_band: number; text: string; vocabulary_upgrades: unknown[] }>;
        };
        const seen = new Set<number>();
        return v.answers
          .filter((a) => bands.includes(a.target_band) && !seen.has(a.target_band) && seen.add(a.target_band))
          .map((a) => ({
            id: itemId(maKey, a.target_band),
            kind: 'model_answer' as const,
            sourceSegmentId: seg.segment_id,
            topic: seg.topic,
            targetBand: a.target_band,
            payload: {
              ...a,
              source_text: seg.text,
              source_band: Number(seg.band),
              question: seg.previous_text,
            },
            suspicious,
          }));
      },
    });
    if (seg.pronunciation_focus.length > 0) {
      const drKey = taskKey('drill', seg.segment_id);
      tasks.push({
        key: drKey,
        kind: 'drill',
        subject: seg.segment_id,
        request: drillsRequest(seg, { ...opts, numPredict: env.GENERATE_NUM_PREDICT }),
        toItems: (value, suspicious) =>
          (value as { drills: Array<Record<string, unknown>> }).drills.map((d, i) => ({
            id: itemId(drKey, i),
            kind: 'drill' as const,
            sourceSegmentId: seg.segment_id,
            topic: seg.topic,
            targetBand: null,
            // the answer the prompt carried: the gate checks the drill does not just copy it
            payload: { ...d, source_text: seg.text },
            suspicious,
          })),
      });
    }
  }
  // Topic-level material: one cue card and one set of Part 3 questions per topic of the run.
  const byTopic = new Map<string, string[]>();
  for (const seg of segments) {
    if (seg.suspicious || seg.topic === 'other') continue;
    const qs = byTopic.get(seg.topic) ?? [];
    if (seg.turn === 'question') qs.push(seg.text);
    byTopic.set(seg.topic, qs);
  }
  for (const [topic, questions] of [...byTopic].sort(([a], [b]) => a.localeCompare(b))) {
    const subject = `${runId}/${topic}`;
    const ccKey = taskKey('cue_card', subject);
    tasks.push({
      key: ccKey,
      kind: 'cue_card',
      subject,
      request: cueCardRequest(topic, questions, { ...opts, numPredict: env.GENERATE_NUM_PREDICT }),
      toItems: (value) => [
        {
          id: itemId(ccKey, 0),
          kind: 'cue_card',
          sourceSegmentId: null,
          topic,
          targetBand: null,
          payload: { topic, ...(value as object), source_questions: questions },
          suspicious: false,
        },
      ],
    });
    const fuKey = taskKey('follow_up', subject);
    tasks.push({
      key: fuKey,
      kind: 'follow_up',
      subject,
      request: followUpsRequest(topic, questions, { ...opts, numPredict: env.GENERATE_NUM_PREDICT }),
      toItems: (value) => [
        {
          id: itemId(fuKey, 0),
          kind: 'follow_up',
          sourceSegmentId: null,
          topic,
          targetBand: null,
          payload: { topic, ...(value as object), source_questions: questions },
          suspicious: false,
        },
      ],
    });
  }
  return { tasks, skippedSuspicious, turnDisagreements };
}

/**
 * Runs every generation task of the run that has not ended yet (no items and no recorded rejection).
 * Each task's items are written in one transaction; a task whose answer stays invalid after the repair
 * turn is recorded in llm_rejections with the raw output.
 */
export async function paraphrase(ctx: StageContext<{ runId: string }, Env>): Promise<StageResult> {
  const { db, log, env } = ctx;
  const segments = await listClassifiedSegments(db, ctx.runId);
  const { tasks, skippedSuspicious, turnDisagreements } = planTasks(ctx.runId, segments, env);
  if (turnDisagreements.length > 0) {
    log.warn(
      { segments: turnDisagreements.length, sample: turnDisagreements.slice(0, 5) },
      "the LLM's kind disagrees with the segmenter's turn: the turn decides",
    );
  }
  const finished = await finishedTaskKeys(db, ctx.runId);
  const todo = tasks.filter((t) => !finished.has(t.key));
  const base = { in: tasks.length, skipped: tasks.length - todo.length };
  const progress = trackProgress(log, { planned: todo.length, skipped: base.skipped });
  if (todo.length === 0) {
    return {
      counts: { ...base, out: 0, rejected: 0 },
      extra: { items: 0, skippedSuspicious, turnDisagreements: turnDisagreements.length, llmCalls: 0 },
    };
  }
  const llm = await openLlm(llmConfigFrom(env), { db, log, signal: ctx.signal });
  let items = 0;
  let out = 0;
  let rejected = 0;
  const rejections: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  await forEachConcurrent(todo, env.LLM_CONCURRENCY * 2, ctx.signal, async (task) => {
    const res = await llm.structured(task.request, ctx.signal);
    let reason: string | undefined;
    let detail = '';
    if (res.ok) {
      const flagged = Boolean((res.value as { suspicious_instructions?: boolean }).suspicious_instructions);
      const made = task.toItems(res.value, flagged);
      if (made.length > 0) {
        await saveGeneratedItems(db, {
          runId: ctx.runId,
          taskKey: task.key,
          model: res.model,
          promptVersion: task.request.promptVersion,
          items: made.map((i) => ({
            ...i,
            suspicious: i.suspicious || looksLikeInjection(JSON.stringify(i.payload)),
          })),
        });
        items += made.length;
        byKind[task.kind] = (byKind[task.kind] ?? 0) + made.length;
        out++;
        log.info({ task: task.key, items: made.length, cached: res.cached }, 'task done');
        progress.done(`${task.kind}: ${made.length} item(s)`);
        return;
      }
      reason = 'off_target';
      detail = 'the answer had none of the requested target bands';
    } else {
      reason = res.reason;
      detail = res.detail;
    }
    rejected++;
    rejections[reason] = (rejections[reason] ?? 0) + 1;
    log.warn({ task: task.key, reason, detail }, 'generation rejected');
    await recordLlmRejection(db, {
      taskKey: task.key,
      runId: ctx.runId,
      task: task.kind,
      subject: task.subject,
      model: res.model,
      promptVersion: task.request.promptVersion,
      reason,
      detail,
      raw: res.raw,
    });
    progress.done(`${task.kind} rejected: ${reason}`);
  });
  const stats = llm.stats();
  return {
    counts: { ...base, out, rejected },
    rejections,
    extra: {
      items,
      itemsByKind: byKind,
      model: llm.model,
      skippedSuspicious,
      turnDisagreements: turnDisagreements.length,
      llmCalls: stats.calls,
      llmCacheHits: stats.cacheHits,
    },
  };
}
