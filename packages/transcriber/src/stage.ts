import { parseInput, TranscribeInput } from '@pronielts/shared/contracts';
import { type StageDefinition, StageError } from '@pronielts/shared/stage';
import type { z } from 'zod';
import { type Env, env } from './env.ts';

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
  envHelp: {
    WHISPER_MODEL: 'whisper model name (default medium)',
    WHISPER_MODEL_DIR: 'folder holding ggml-<model>.bin (default /root/.cache/whisper)',
    TRANSCRIBE_WORK_DIR: 'scratch folder (default /tmp/processing)',
  },
  input: ({ runId, values }) => {
    const ids =
      typeof values['media-ids'] === 'string' ? values['media-ids'].split(',').filter(Boolean) : undefined;
    return parseInput(TranscribeInput, { runId, ...(ids ? { mediaIds: ids } : {}) });
  },
  run: async () => {
    throw new StageError('not_implemented', 'the transcribe stage is not implemented yet');
  },
};
