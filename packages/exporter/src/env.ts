import { stageEnv } from '@pronielts/shared/config';
import type { z } from 'zod';

/** Every setting of the validate and export phases: the shared variables plus their own. */
export const env = stageEnv({});
export type Env = z.output<typeof env>;
