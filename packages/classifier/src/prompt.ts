import { CEFR_LEVELS, ClassificationOutput, PRONUNCIATION_FOCUS, TOPICS } from '@pronielts/shared/contracts';
import type { SegmentToClassify } from '@pronielts/shared/db';
import { DATA_RULES, dataBlock, type StructuredRequest } from '@pronielts/shared/llm';

/** Bump when the prompt or the schema changes: it is part of the cache key and of each row. */
export const PROMPT_VERSION = 'classify-v2'; // v2: band and confidence are enumerated values

const SYSTEM = [
  'You are an experienced IELTS Speaking examiner who labels transcript segments for a practice-content team.',
  'For the segment, decide: the IELTS Speaking part (1 = short questions about familiar topics, 2 = a long turn on a cue card, 3 = abstract discussion; "unknown" if unclear);',
  'the kind (examiner_question, candidate_answer, cue_card, or other);',
  `the topic (one of: ${TOPICS.join(', ')});`,
  'the band the speaker would likely get on the IELTS 0–9 scale in steps of 0.5, judged from the language in the text (lexical resource, grammatical range, coherence), and the matching CEFR level',
  `(${CEFR_LEVELS.join(', ')});`,
  `up to four pronunciation features a learner should practise for this text (from: ${PRONUNCIATION_FOCUS.join(', ')});`,
  'a confidence from 0 to 1 in steps of 0.1, and a one-sentence rationale (under 300 characters).',
  'The transcript comes from automatic speech recognition and may contain errors; do not penalise obvious recognition mistakes.',
  DATA_RULES,
].join(' ');

export function classifyRequest(
  seg: SegmentToClassify,
  numPredict: number,
): StructuredRequest<typeof ClassificationOutput> {
  const data = {
    segment: seg.text,
    turn_hint: seg.turn ?? 'unknown',
    previous_segment: seg.previous_text,
  };
  return {
    task: 'classify',
    promptVersion: PROMPT_VERSION,
    system: SYSTEM,
    user: `Classify this segment.\n${dataBlock(data)}`,
    cacheInput: data,
    schema: ClassificationOutput,
    temperature: 0,
    numPredict,
  };
}
