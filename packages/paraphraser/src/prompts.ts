import {
  CueCardOutput,
  DrillsOutput,
  FollowUpsOutput,
  ModelAnswersOutput,
  PRONUNCIATION_FOCUS,
} from '@pronielts/shared/contracts';
import type { ClassifiedSegment } from '@pronielts/shared/db';
import { DATA_RULES, dataBlock, type StructuredRequest } from '@pronielts/shared/llm';
import { z } from 'zod';

/** Prompt versions: part of each cache key and each stored item; bump when a prompt or schema changes. */
export const PROMPT_VERSIONS = {
  model_answer: 'paraphrase-v2', // v2: the schema admits only the requested bands, one answer each
  drill: 'drills-v1',
  cue_card: 'cuecard-v1',
  follow_up: 'followup-v1',
} as const;

const TEACHER = 'You are an IELTS Speaking teacher who writes practice material for learners.';

/**
 * ModelAnswersOutput narrowed to one request: `target_band` may only be one of the requested bands and
 * there are exactly as many answers as bands. Sent as `format`, Ollama's grammar then cannot produce an
 * answer for a band nobody asked for (a JSON Schema tuple would also force the order, but llama.cpp's
 * grammar converter reads zod's `prefixItems` + `items: false` as "no items allowed").
 */
export function modelAnswersSchema(bands: readonly number[]) {
  const answer = ModelAnswersOutput.shape.answers.element;
  return ModelAnswersOutput.extend({
    answers: z
      .array(answer.extend({ target_band: z.literal(bands as [number, ...number[]]) }))
      .length(bands.length),
  });
}

export function modelAnswersRequest(
  seg: ClassifiedSegment,
  bands: number[],
  opts: { numPredict: number; temperature: number },
): StructuredRequest<ReturnType<typeof modelAnswersSchema>> {
  const data = {
    question: seg.previous_text,
    answer: seg.text,
    estimated_band: Number(seg.band),
    topic: seg.topic,
  };
  return {
    task: 'model_answer',
    promptVersion: PROMPT_VERSIONS.model_answer,
    system: [
      TEACHER,
      `Rewrite the candidate's answer as model answers for IELTS bands ${bands.join(', ')}: one answer per band, each a natural spoken answer to the same question with the same ideas,`,
      'but with the vocabulary, grammar and cohesion typical of that band. Do not copy the original. List the vocabulary upgrades you made (from → to, with a short note).',
      DATA_RULES,
    ].join(' '),
    user: `Write model answers for bands ${bands.join(', ')}.\n${dataBlock(data)}`,
    cacheInput: { ...data, bands },
    schema: modelAnswersSchema(bands),
    temperature: opts.temperature,
    numPredict: opts.numPredict,
  };
}

export function drillsRequest(
  seg: ClassifiedSegment,
  opts: { numPredict: number; temperature: number },
): StructuredRequest<typeof DrillsOutput> {
  const focus = seg.pronunciation_focus.filter((f): f is (typeof PRONUNCIATION_FOCUS)[number] =>
    (PRONUNCIATION_FOCUS as readonly string[]).includes(f),
  );
  const data = { answer: seg.text, focus };
  return {
    task: 'drill',
    promptVersion: PROMPT_VERSIONS.drill,
    system: [
      TEACHER,
      'Write one short pronunciation drill for each listed focus feature: an instruction, 3 to 8 practice items (words, phrases or sentences, preferably using words from the answer), and a tip.',
      DATA_RULES,
    ].join(' '),
    user: `Write drills for: ${focus.join(', ')}.\n${dataBlock(data)}`,
    cacheInput: data,
    schema: DrillsOutput,
    temperature: opts.temperature,
    numPredict: opts.numPredict,
  };
}

export function cueCardRequest(
  topic: string,
  examples: string[],
  opts: { numPredict: number; temperature: number },
) {
  const data = { topic, example_questions: examples.slice(0, 5) };
  return {
    task: 'cue_card',
    promptVersion: PROMPT_VERSIONS.cue_card,
    system: [
      TEACHER,
      'Write an IELTS Speaking Part 2 cue card on the topic: a "Describe …" prompt, three or four "You should say:" bullet points, and a closing "and explain …" line. Do not use names of real people.',
      DATA_RULES,
    ].join(' '),
    user: `Write a Part 2 cue card.\n${dataBlock(data)}`,
    cacheInput: data,
    schema: CueCardOutput,
    temperature: opts.temperature,
    numPredict: opts.numPredict,
  } satisfies StructuredRequest<typeof CueCardOutput>;
}

export function followUpsRequest(
  topic: string,
  examples: string[],
  opts: { numPredict: number; temperature: number },
) {
  const data = { topic, example_questions: examples.slice(0, 5) };
  return {
    task: 'follow_up',
    promptVersion: PROMPT_VERSIONS.follow_up,
    system: [
      TEACHER,
      'Write 3 to 6 IELTS Speaking Part 3 follow-up questions on the topic: abstract, discussion-style questions about society, comparisons, causes and the future.',
      DATA_RULES,
    ].join(' '),
    user: `Write Part 3 follow-up questions.\n${dataBlock(data)}`,
    cacheInput: data,
    schema: FollowUpsOutput,
    temperature: opts.temperature,
    numPredict: opts.numPredict,
  } satisfies StructuredRequest<typeof FollowUpsOutput>;
}

export type AnyRequest = StructuredRequest<z.ZodType>;
