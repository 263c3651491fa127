import os from 'node:os';
import path from 'node:path';
import { env as ingestorEnv } from '@pronielts/ingestor/env';
import { llmEnvShape, OptionalString, parseEnv, stageEnv } from '@pronielts/shared/config';
import { env as transcriberEnv } from '@pronielts/transcriber/env';
import { z } from 'zod';

const whisper = transcriberEnv.shape;
const ingest = ingestorEnv.shape;

/**
 * The runner's settings: the shared variables, Ollama's, and the stages' own ones it checks before any
 * work, with the stages' schemas (everything here is also passed on to the stage processes, which parse
 * it again themselves). Only some defaults differ, because they suit one machine, not a pod.
 */
export const env = stageEnv({
  ...llmEnvShape,
  // The multilingual base model that scripts/setup makes from PyPI packages (scripts/whisper-base-model),
  // not a pod's medium: it is on the machine already and fast enough on a CPU.
  WHISPER_MODEL: whisper.WHISPER_MODEL.unwrap()
    .default('base')
    .describe(
      'Whisper model name (ggml-<model>.bin); official models other than base download where there is network.',
    ),
  // Where scripts/setup put it, not a pod's model cache (see parseRunnerEnv).
  WHISPER_MODEL_DIR: whisper.WHISPER_MODEL_DIR.unwrap().optional().meta({
    description: 'Folder holding ggml-<model>.bin.',
    computedDefault: '$PRONIELTS_TOOLS/whisper-models, where scripts/setup puts ggml-base.bin',
  }),
  // A person at a terminal asked for the run, and the download has its own progress bar; a pod never
  // reaches out silently. The stages then run with downloads off.
  WHISPER_ALLOW_DOWNLOAD: whisper.WHISPER_ALLOW_DOWNLOAD.unwrap()
    .default(true)
    .describe('Download a missing whisper model before any work (--no-download says false).'),
  WHISPER_DOWNLOAD_BASE: whisper.WHISPER_DOWNLOAD_BASE,
  // The runner also finds the whisper-cli that scripts/build-whisper cached (preconditions.ts).
  WHISPER_CLI: whisper.WHISPER_CLI.describe(
    "whisper.cpp's whisper-cli. Unset: on PATH, else the cache scripts/build-whisper fills in PRONIELTS_TOOLS.",
  ),
  FFMPEG_PATH: ingest.FFMPEG_PATH,
  FFPROBE_PATH: ingest.FFPROBE_PATH,
  // The sources' own folders, which a pod's default cannot know (see run.ts).
  INGEST_LOCAL_ROOTS: ingest.INGEST_LOCAL_ROOTS.unwrap().optional().meta({
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
