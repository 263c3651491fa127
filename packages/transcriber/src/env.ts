import os from 'node:os';
import { BoolEnv, IntEnv, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

/** Every setting of the transcribe stage: the shared variables plus its own. Parsed once, at start. */
export const env = stageEnv({
  WHISPER_MODEL: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected a whisper model name such as medium or base.en')
    .default('medium'),
  /** The whisper-model-cache PVC: holds ggml-<model>.bin. */
  WHISPER_MODEL_DIR: z.string().min(1).default('/root/.cache/whisper'),
  /** Fetch a missing model from WHISPER_DOWNLOAD_BASE. Off by default: pods never reach out silently. */
  WHISPER_ALLOW_DOWNLOAD: BoolEnv.default(false),
  WHISPER_DOWNLOAD_BASE: z
    .string()
    .url()
    .default('https://huggingface.co/ggerganov/whisper.cpp/resolve/main'),
  /** whisper.cpp's CLI; default: whisper-cli on PATH. */
  WHISPER_CLI: z.string().min(1).optional(),
  WHISPER_THREADS: IntEnv({ min: 1, max: 256 }).default(Math.max(1, Math.min(8, os.availableParallelism()))),
  /** "auto" detects the language; IELTS material is English, so "en" skips detection. */
  WHISPER_LANGUAGE: z
    .string()
    .regex(/^(auto|[a-z]{2,3})$/, 'expected auto or a language code such as en')
    .default('auto'),
  WHISPER_BEAM_SIZE: IntEnv({ min: 1, max: 16 }).default(5),
  /** Disable whisper's temperature fallback (faster, slightly less robust). */
  WHISPER_NO_FALLBACK: BoolEnv.default(false),
  /** Scratch space for the WAVs being transcribed (an emptyDir in the pod). */
  TRANSCRIBE_WORK_DIR: z.string().min(1).default('/tmp/processing'),
  /** Silence between words that ends an utterance, ms. */
  SEGMENT_PAUSE_MS: IntEnv({ min: 100, max: 10_000 }).default(700),
  /** Longest utterance before it is split at its longest pause, ms. */
  SEGMENT_MAX_MS: IntEnv({ min: 1000 }).default(30_000),
  /** A segment whose loudest 100 ms is below this level (dBFS) has no speech: text there is suspect. */
  HALLUCINATION_SILENCE_DB: z.coerce.number().max(0).default(-45),
});
export type Env = z.output<typeof env>;

export const ENV_HELP = {
  WHISPER_MODEL: 'whisper model name (default medium)',
  WHISPER_MODEL_DIR: 'folder holding ggml-<model>.bin (default /root/.cache/whisper)',
  WHISPER_ALLOW_DOWNLOAD: 'download a missing model (default false: a missing model is an error)',
  WHISPER_DOWNLOAD_BASE: 'where models are downloaded from when allowed',
  WHISPER_CLI: 'path of whisper.cpp whisper-cli (default: on PATH)',
  WHISPER_THREADS: 'CPU threads for whisper (default: cores, at most 8)',
  WHISPER_LANGUAGE: 'auto or a language code (default auto)',
  WHISPER_BEAM_SIZE: 'beam size (default 5)',
  WHISPER_NO_FALLBACK: 'disable temperature fallback (default false)',
  TRANSCRIBE_WORK_DIR: 'scratch folder (default /tmp/processing)',
  SEGMENT_PAUSE_MS: 'pause that ends an utterance, ms (default 700)',
  SEGMENT_MAX_MS: 'longest utterance, ms (default 30000)',
  HALLUCINATION_SILENCE_DB: 'speech-energy floor for the hallucination guard, dBFS (default -45)',
};
