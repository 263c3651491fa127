import os from 'node:os';
import { BoolEnv, IntEnv, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

/** Every setting of the transcribe stage: the shared variables plus its own. Parsed once, at start. */
export const env = stageEnv({
  WHISPER_MODEL: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected a whisper model name such as medium or base.en')
    .default('medium')
    .describe('Whisper model name (the file is ggml-<model>.bin).'),
  WHISPER_MODEL_DIR: z
    .string()
    .min(1)
    .default('/root/.cache/whisper')
    .describe('Folder holding ggml-<model>.bin (the whisper-model-cache PVC in a pod).'),
  WHISPER_ALLOW_DOWNLOAD: BoolEnv.default(false).describe(
    'Fetch a missing model from WHISPER_DOWNLOAD_BASE; off, a missing model is an error (pods never reach out silently).',
  ),
  WHISPER_DOWNLOAD_BASE: z
    .string()
    .url()
    .default('https://huggingface.co/ggerganov/whisper.cpp/resolve/main')
    .describe('Where models are downloaded from when allowed.'),
  WHISPER_CLI: z
    .string()
    .min(1)
    .optional()
    .describe("whisper.cpp's whisper-cli. Unset: whisper-cli on PATH."),
  WHISPER_THREADS: IntEnv({ min: 1, max: 256 })
    .default(Math.max(1, Math.min(8, os.availableParallelism())))
    .meta({ description: 'CPU threads for whisper.', computedDefault: 'the CPU cores, at most 8' }),
  WHISPER_LANGUAGE: z
    .string()
    .regex(/^(auto|[a-z]{2,3})$/, 'expected auto or a language code such as en')
    .default('auto')
    .describe('auto detects the language; IELTS material is English, so en skips detection.'),
  WHISPER_BEAM_SIZE: IntEnv({ min: 1, max: 16 }).default(5).describe('Beam size of the decoder.'),
  WHISPER_NO_FALLBACK: BoolEnv.default(false).describe(
    "Disable whisper's temperature fallback (faster, slightly less robust).",
  ),
  TRANSCRIBE_WORK_DIR: z
    .string()
    .min(1)
    .default('/tmp/processing')
    .describe('Scratch space for the WAVs being transcribed (an emptyDir in the pod).'),
  SEGMENT_PAUSE_MS: IntEnv({ min: 100, max: 10_000 })
    .default(700)
    .describe('Silence between words that ends an utterance, in ms.'),
  SEGMENT_MAX_MS: IntEnv({ min: 1000 })
    .default(30_000)
    .describe('Longest utterance before it is split at its longest pause, in ms.'),
  HALLUCINATION_SILENCE_DB: z.coerce
    .number()
    .max(0)
    .default(-45)
    .describe(
      'A segment whose loudest 100 ms is below this level (dBFS) has no speech: text there is suspect.',
    ),
});
export type Env = z.output<typeof env>;
