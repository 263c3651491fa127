import { stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

/** Every setting of the transcribe stage: the shared variables plus its own. Parsed once, at start. */
export const env = stageEnv({
  WHISPER_MODEL: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'expected a whisper model name such as medium or base.en')
    .default('medium'),
  /** The whisper-model-cache PVC. */
  WHISPER_MODEL_DIR: z.string().min(1).default('/root/.cache/whisper'),
  /** Scratch space (an emptyDir in the pod). */
  TRANSCRIBE_WORK_DIR: z.string().min(1).default('/tmp/processing'),
});
export type Env = z.output<typeof env>;
