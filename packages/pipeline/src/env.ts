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
    .default('base')
    .describe(
      'Whisper model name (ggml-<model>.bin); official models other than base download where there is network.',
    ),
  WHISPER_MODEL_DIR: OptionalString.meta({
    description: 'Folder holding ggml-<model>.bin.',
    computedDefault: '$PRONIELTS_TOOLS/whisper-models, where scripts/setup puts ggml-base.bin',
  }),
  WHISPER_ALLOW_DOWNLOAD: BoolEnv.default(true).describe(
    'Download a missing whisper model before any work (--no-download says false).',
  ),
  WHISPER_DOWNLOAD_BASE: z
    .string()
    .url()
    .default('https://huggingface.co/ggerganov/whisper.cpp/resolve/main')
    .describe('Where whisper models are downloaded from.'),
  WHISPER_CLI: OptionalString.describe(
    "whisper.cpp's whisper-cli. Unset: on PATH, else the cache scripts/build-whisper fills in PRONIELTS_TOOLS.",
  ),
  FFMPEG_PATH: OptionalString.describe('The ffmpeg binary. Unset: ffmpeg on PATH.'),
  FFPROBE_PATH: OptionalString.describe('The ffprobe binary. Unset: ffprobe on PATH.'),
  INGEST_LOCAL_ROOTS: OptionalString.meta({
    description: 'Colon-separated folders local sources may come from.',
    computedDefault: 'the folders of the given files, /data and the working directory',
  }),
  PRONIELTS_TOOLS: z
    .string()
    .min(1)
    .default(path.join(os.homedir(), '.cache', 'pronielts', 'tools'))
    .meta({
      description:
        'Where scripts/build-whisper and scripts/setup cache tools and models (scripts/lib/env.sh sets it).',
      computedDefault: '~/.cache/pronielts/tools',
    }),
  INIT_CWD: OptionalString.describe(
    'The folder `pnpm pipeline` was typed in (pnpm sets it): relative sources resolve against it. Unset: the working directory.',
  ),
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
