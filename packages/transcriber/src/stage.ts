import { parseInput, TranscribeInput } from '@pronielts/shared/contracts';
import type { StageDefinition } from '@pronielts/shared/stage';
import type { z } from 'zod';
import { type Env, env } from './env.ts';
import { transcribe } from './run.ts';

export type Input = z.output<typeof TranscribeInput>;

export const stage: StageDefinition<Input, Env> = {
  name: 'transcribe',
  bin: 'pronielts-transcriber',
  description:
    'Transcribes the normalised audio of a run with whisper.cpp (through nodejs-whisper), writes a timed transcript per media item to pronielts-transcriptions and its utterance segments to the DB.',
  options: {
    'media-ids': {
      type: 'string',
      description: 'comma-separated media ids (a mapped batch); default: every ready item of the run',
      arg: '<ids>',
    },
  },
  env,

  input: ({ runId, values }) => {
    const ids =
      typeof values['media-ids'] === 'string' ? values['media-ids'].split(',').filter(Boolean) : undefined;
    return parseInput(TranscribeInput, { runId, ...(ids ? { mediaIds: ids } : {}) });
  },
  run: (ctx) => transcribe(ctx),
};
