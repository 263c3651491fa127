import { createHash } from 'node:crypto';
import {
  type Db,
  type GeneratedItemRecord,
  saveClassification,
  saveGeneratedItems,
} from '@pronielts/shared/db';
import { seedTranscript } from '@pronielts/shared/testing';

/** A run's content as the classifier and the paraphraser would leave it: segments, classifications, items. */
export interface SeedContent {
  segments: Array<{ text: string; band?: number; cefr?: string; kind?: string; topic?: string }>;
  items: Array<Omit<GeneratedItemRecord, 'id' | 'suspicious'> & { name: string }>;
}

const id = (p: string, s: string) => `${p}_${createHash('sha256').update(s).digest('hex').slice(0, 32)}`;

export async function seedContent(
  db: Db,
  runId: string,
  c: SeedContent,
): Promise<{ segmentIds: string[]; itemIds: Record<string, string> }> {
  const segmentIds = await seedTranscript(
    db,
    runId,
    c.segments.map((s) => ({ text: s.text })),
  );
  for (const [i, s] of c.segments.entries()) {
    await saveClassification(db, {
      id: id('cl', `${runId}:${i}`),
      segmentId: segmentIds[i] ?? '',
      status: 'ok',
      part: '1',
      kind: s.kind ?? 'candidate_answer',
      topic: s.topic ?? 'work',
      band: s.band ?? 6,
      cefr: s.cefr ?? 'B2',
      focus: [],
      confidence: 0.9,
      rationale: 'seed',
      suspicious: false,
      model: 'llama3.1:8b',
      promptVersion: 'classify-v1',
    });
  }
  const itemIds: Record<string, string> = {};
  for (const it of c.items) {
    const itemId = id('gi', `${runId}:${it.name}`);
    itemIds[it.name] = itemId;
    await saveGeneratedItems(db, {
      runId,
      taskKey: `seed:${runId}:${it.name}`,
      model: 'llama3.1:8b',
      promptVersion: 'seed-v1',
      items: [{ ...it, id: itemId, suspicious: false }],
    });
  }
  return { segmentIds, itemIds };
}

export const SOURCE =
  'I am nurse in big hospital. It is good job because I help people every day and I like it.';
export const GOOD =
  'I work as a nurse in a large hospital, which I find genuinely rewarding because I get to help people every single day.';

export function modelAnswer(text: string, targetBand = 7, sourceBand = 5, sourceText = SOURCE) {
  return {
    kind: 'model_answer' as const,
    sourceSegmentId: null,
    topic: 'work',
    targetBand,
    payload: {
      target_band: targetBand,
      text,
      vocabulary_upgrades: [{ from: 'good', to: 'rewarding', note: 'more precise' }],
      source_text: sourceText,
      source_band: sourceBand,
      question: 'What do you do?',
    },
  };
}

export function cueCard(prompt: string, topic = 'places_description') {
  return {
    kind: 'cue_card' as const,
    sourceSegmentId: null,
    topic,
    targetBand: null,
    payload: {
      topic,
      prompt,
      bullet_points: ['where it is', 'how you found it', 'what you do there'],
      closing_prompt: 'and explain why you like it.',
    },
  };
}

export function followUps(questions: string[], topic = 'work') {
  return {
    kind: 'follow_up' as const,
    sourceSegmentId: null,
    topic,
    targetBand: null,
    payload: { topic, questions },
  };
}
