import os from 'node:os';
import path from 'node:path';
import { BoolEnv, llmEnvShape, OptionalString, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

/**
 * The runner's settings: the shared stage variables, Ollama's, and the whisper ones it checks before any
 * work. Its defaults suit a laptop, not a pod: a small English model in the user's cache, downloaded on
 * first use. Everything here is also passed on to the stage processes, which parse it again themselves.
 */
export const env = stageEnv({
  ...llmEnvShape,
  WHISPER_MODEL: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected a whisper model name such as medium or base.en')
    .default('base.en'),
  WHISPER_MODEL_DIR: z
    .string()
    .min(1)
    .default(path.join(os.homedir(), '.cache', 'whisper')),
  WHISPER_ALLOW_DOWNLOAD: BoolEnv.default(true),
  WHISPER_DOWNLOAD_BASE: z
    .string()
    .url()
    .default('https://huggingface.co/ggerganov/whisper.cpp/resolve/main'),
  WHISPER_CLI: OptionalString,
  FFMPEG_PATH: OptionalString,
  FFPROBE_PATH: OptionalString,
  INGEST_LOCAL_ROOTS: OptionalString,
  /** Where scripts/build-whisper caches whisper-cli (scripts/lib/env.sh sets it; same default here). */
  PRONIELTS_TOOLS: z
    .string()
    .min(1)
    .default(path.join(os.homedir(), '.cache', 'pronielts', 'tools')),
  /** The folder `pnpm pipeline` was typed in (pnpm runs root scripts from the root): relative sources. */
  INIT_CWD: OptionalString,
});
export type Env = z.output<typeof env>;
