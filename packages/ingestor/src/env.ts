import { BoolEnv, IntEnv, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';
import { isValidCidrList } from './sources/address-policy.ts';

const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST);

/** Every setting of the ingest stage: the shared variables plus its own. Parsed once, at start. */
export const env = stageEnv({
  INGEST_DOWNLOAD_DIR: z
    .string()
    .min(1)
    .default('/tmp/downloads')
    .describe('Scratch space for downloads and normalised WAVs (an emptyDir in the pod).'),
  INGEST_MAX_BYTES: IntEnv({ min: 1 })
    .default(2 * 1024 ** 3)
    .describe('Largest source accepted, in bytes.'),
  INGEST_MIN_DURATION_S: z.coerce.number().min(0).default(1).describe('Shortest audio accepted, in seconds.'),
  INGEST_MAX_DURATION_S: z.coerce
    .number()
    .positive()
    .default(3 * 60 * 60)
    .describe('Longest audio accepted, in seconds.'),
  INGEST_MIN_SAMPLE_RATE: IntEnv({ min: 1 })
    .default(8000)
    .describe('Lowest source sample rate accepted, in Hz.'),
  INGEST_SILENCE_MAX_DB: z.coerce
    .number()
    .max(0)
    .default(-60)
    .describe('Peak level at or below which audio counts as silent, in dBFS.'),
  INGEST_CONNECT_TIMEOUT_MS: IntEnv({ min: 100 })
    .default(10_000)
    .describe('Connect timeout for http(s) sources.'),
  INGEST_READ_TIMEOUT_MS: IntEnv({ min: 100 })
    .default(30_000)
    .describe('Longest stall while reading a response.'),
  INGEST_MAX_REDIRECTS: IntEnv({ min: 0, max: 20 }).default(5).describe('Redirects followed per source.'),
  INGEST_ALLOW_PRIVATE_ADDRESSES: BoolEnv.default(false).describe(
    'Allow private, loopback and link-local addresses (never in production).',
  ),
  INGEST_ALLOWED_CIDRS: z
    .string()
    .default('')
    .refine(isValidCidrList, 'expected comma-separated CIDRs such as 10.1.0.0/16')
    .describe('Comma-separated CIDRs allowed even though private (e.g. an internal media server).'),
  INGEST_LOCAL_ROOTS: z
    .string()
    .default(inCluster ? '' : `/data:${process.cwd()}`)
    .meta({
      description: 'Colon-separated folders local-file sources may come from.',
      computedDefault: '/data and the working directory; none in a pod',
    }),
  INGEST_CONCURRENCY: IntEnv({ min: 1, max: 32 }).default(2).describe('Sources processed at once.'),
  FFMPEG_PATH: z.string().min(1).optional().describe('The ffmpeg binary. Unset: ffmpeg on PATH.'),
  FFPROBE_PATH: z.string().min(1).optional().describe('The ffprobe binary. Unset: ffprobe on PATH.'),
});
export type Env = z.output<typeof env>;
