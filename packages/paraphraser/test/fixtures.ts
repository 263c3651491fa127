import type { LlmRequest } from '@pronielts/ollama-test-server';
import { type Db, saveClassification } from '@pronielts/shared/db';
import { seedTranscript } from '@pronielts/shared/testing';

// Seeds and answers shared by the paraphraser's integration tests.

/** Seeds a transcript and classifies its segments directly (the classifier's contract). */
export async function seedClassified(
  db: Db,
  runId: string,
  segs: Array<{
    text: string;
    kind: string;
    topic: string;
    band?: number;
    focus?: string[];
    suspicious?: boolean;
  }>,
  by: { model: string; promptVersion: string } = { model: 'llama3.1:8b', promptVersion: 'classify-v1' },
): Promise<string[]> {
  const ids = await seedTranscript(
    db,
    runId,
    segs.map((s) => ({ text: s.text })),
  );
  for (const [i, s] of segs.entries()) {
    await saveClassification(db, {
      id: `cl_${String(i).padStart(2, '0')}${(ids[i] ?? '').slice(3, 33)}`,
      segmentId: ids[i] ?? '',
      status: 'ok',
      part: '1',
      kind: s.kind,
      topic: s.topic,
      band: s.band ?? 5.5,
      cefr: 'B1',
      focus: s.focus ?? [],
      confidence: 0.8,
      rationale: 'seed',
      suspicious: s.suspicious ?? false,
      model: by.model,
      promptVersion: by.promptVersion,
    });
  }
  return ids;
}

export const modelAnswers = (bands = [6, 7, 8]) => ({
  answers: bands.map((b) => ({
    target_band: b,
    text: `A band ${b} answer: I am currently working as a nurse, which I find genuinely rewarding.`,
    vocabulary_upgrades: [{ from: 'good', to: 'rewarding', note: 'more precise' }],
  })),
  suspicious_instructions: false,
});
export const drills = {
  drills: [
    {
      focus: 'th_sounds',
      instruction: 'Say each word slowly, tongue between teeth.',
      items: ['think', 'three', 'weather'],
      tip: 'Feel the air.',
    },
  ],
  suspicious_instructions: false,
};
export const cueCard = {
  prompt: 'Describe a job you would like to do.',
  bullet_points: ['what it is', 'what skills it needs', 'why you want it'],
  closing_prompt: 'and explain how you would prepare for it.',
};
export const followUps = {
  questions: [
    'Why do some jobs pay more than others?',
    'How will work change in the future?',
    'Should people stay in one job all their lives?',
  ],
};

/** A valid answer for whichever generation task the request is. */
export function byTask(req: LlmRequest) {
  const sys = String(req.body.messages?.[0]?.content ?? '');
  if (sys.includes('Rewrite the candidate')) return { kind: 'valid', content: modelAnswers() } as const;
  if (sys.includes('pronunciation drill')) return { kind: 'valid', content: drills } as const;
  if (sys.includes('cue card')) return { kind: 'valid', content: cueCard } as const;
  return { kind: 'valid', content: followUps } as const;
}
