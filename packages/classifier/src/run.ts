import { createHash } from 'node:crypto';
import { countRunSegments, listSegmentsToClassify, saveClassification } from '@pronielts/shared/db';
import { llmConfigFrom, looksLikeInjection, openLlm } from '@pronielts/shared/llm';
import { trackProgress } from '@pronielts/shared/log';
import { forEachConcurrent, type StageContext, type StageResult } from '@pronielts/shared/stage';
import type { Env } from './env.ts';
import { classifyRequest, PROMPT_VERSION } from './prompt.ts';

export const classificationId = (segmentId: string) =>
  `cl_${createHash('sha256').update(`${segmentId}\0${PROMPT_VERSION}`).digest('hex').slice(0, 32)}`;

/**
 * Classifies every segment of the run that has no classification for this prompt version. Each result
 * is one upsert; an answer that stays invalid after the repair turn is stored as a rejected
 * classification with its raw output. Segments already done are not even looked at again.
 */
export async function classify(ctx: StageContext<{ runId: string }, Env>): Promise<StageResult> {
  const { db, log, env } = ctx;
  const total = await countRunSegments(db, ctx.runId);
  const todo = await listSegmentsToClassify(db, ctx.runId, PROMPT_VERSION);
  const skipped = total - todo.length;
  const progress = trackProgress(log, { planned: todo.length, skipped });
  if (todo.length === 0) {
    return {
      counts: { in: total, out: 0, rejected: 0, skipped },
      extra: { promptVersion: PROMPT_VERSION, llmCalls: 0 },
    };
  }
  const llm = await openLlm(llmConfigFrom(env), { db, log, signal: ctx.signal });
  let out = 0;
  let rejected = 0;
  let suspicious = 0;
  const rejections: Record<string, number> = {};
  await forEachConcurrent(todo, env.LLM_CONCURRENCY * 2, ctx.signal, async (seg) => {
    const res = await llm.structured(classifyRequest(seg, env.CLASSIFY_NUM_PREDICT), ctx.signal);
    const id = classificationId(seg.id);
    if (!res.ok) {
      rejected++;
      rejections[res.reason] = (rejections[res.reason] ?? 0) + 1;
      log.warn({ segment_id: seg.id, reason: res.reason, detail: res.detail }, 'classification rejected');
      await saveClassification(db, {
        id,
        segmentId: seg.id,
        status: 'rejected',
        suspicious: looksLikeInjection(seg.text),
        model: res.model,
        promptVersion: PROMPT_VERSION,
        rawOutput: res.raw.slice(0, 20_000),
        rejectReason: `${res.reason}: ${res.detail}`.slice(0, 1000),
      });
      progress.done(`rejected: ${res.reason}`);
      return;
    }
    const v = res.value;
    const flagged = v.suspicious_instructions || looksLikeInjection(seg.text);
    if (flagged) {
      suspicious++;
      log.warn(
        { segment_id: seg.id, model_flag: v.suspicious_instructions },
        'segment addresses the model: recorded as suspicious',
      );
    }
    await saveClassification(db, {
      id,
      segmentId: seg.id,
      status: 'ok',
      part: v.part,
      kind: v.kind,
      topic: v.topic,
      band: v.band,
      cefr: v.cefr,
      focus: v.pronunciation_focus,
      confidence: v.confidence,
      rationale: v.rationale,
      suspicious: flagged,
      model: res.model,
      promptVersion: PROMPT_VERSION,
    });
    out++;
    log.info(
      { segment_id: seg.id, kind: v.kind, topic: v.topic, band: v.band, cached: res.cached },
      'segment classified',
    );
    progress.done(`${v.kind} · ${v.topic} · band ${v.band}`);
  });
  const stats = llm.stats();
  return {
    counts: { in: total, out, rejected, skipped },
    rejections,
    extra: {
      promptVersion: PROMPT_VERSION,
      model: llm.model,
      suspicious,
      llmCalls: stats.calls,
      llmCacheHits: stats.cacheHits,
    },
  };
}
