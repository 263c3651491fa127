import os from 'node:os';
import path from 'node:path';
import { BoolEnv, llmEnvShape, OptionalString, parseEnv, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

/**
 * The runner's settings: the shared stage variables, Ollama's, and the whisper ones it checks before any
 * work. Its defaults suit one machine, not a pod: the multilingual base whisper model that scripts/setup
 * makes from PyPI packages into the tools cache (scripts/whisper-base-model); other models download on
 * first use where there is network. Everything here is also passed on to the stage processes, which parse
 * it again themselves.
 */
export const env = stageEnv({
  ...llmEnvShape,
  WHISPER_MODEL: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected a whisper model name such as medium or base.en')
    .default('base'),
  /** Default: the tools cache's whisper-models folder (see parseRunnerEnv). */
  WHISPER_MODEL_DIR: OptionalString,
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
export type Env = Omit<z.output<typeof env>, 'WHISPER_MODEL_DIR'> & { WHISPER_MODEL_DIR: string };

/** Parses the runner's env; the whisper model folder defaults to the tools cache's. */
export function parseRunnerEnv(raw: NodeJS.ProcessEnv): Env {
  const parsed = parseEnv(env, raw);
  return {
    ...parsed,
    WHISPER_MODEL_DIR: parsed.WHISPER_MODEL_DIR ?? path.join(parsed.PRONIELTS_TOOLS, 'whisper-models'),
  };
}
