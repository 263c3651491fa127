import { stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

/** Every setting of the ingest stage: the shared variables plus its own. Parsed once, at start. */
export const env = stageEnv({
  /** Scratch space for downloads (an emptyDir in the pod). */
  INGEST_DOWNLOAD_DIR: z.string().min(1).default('/tmp/downloads'),
});
export type Env = z.output<typeof env>;
