import { BoolEnv, IntEnv, stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';
import { isValidCidrList } from './sources/address-policy.ts';

const inCluster = Boolean(process.env.KUBERNETES_SERVICE_HOST);

/** Every setting of the ingest stage: the shared variables plus its own. Parsed once, at start. */
export const env = stageEnv({
  /** Scratch space for downloads and normalised WAVs (an emptyDir in the pod). */
  INGEST_DOWNLOAD_DIR: z.string().min(1).default('/tmp/downloads'),
  INGEST_MAX_BYTES: IntEnv({ min: 1 }).default(2 * 1024 ** 3),
  INGEST_MIN_DURATION_S: z.coerce.number().min(0).default(1),
  INGEST_MAX_DURATION_S: z.coerce
    .number()
    .positive()
    .default(3 * 60 * 60),
  INGEST_MIN_SAMPLE_RATE: IntEnv({ min: 1 }).default(8000),
  /** Peak level at or below which audio counts as silent, in dBFS. */
  INGEST_SILENCE_MAX_DB: z.coerce.number().max(0).default(-60),
  INGEST_CONNECT_TIMEOUT_MS: IntEnv({ min: 100 }).default(10_000),
  INGEST_READ_TIMEOUT_MS: IntEnv({ min: 100 }).default(30_000),
  INGEST_MAX_REDIRECTS: IntEnv({ min: 0, max: 20 }).default(5),
  /** Allow private, loopback and link-local addresses (never in production). */
  INGEST_ALLOW_PRIVATE_ADDRESSES: BoolEnv.default(false),
  /** Comma-separated CIDRs allowed even though private (e.g. an internal media server). */
  INGEST_ALLOWED_CIDRS: z
    .string()
    .default('')
    .refine(isValidCidrList, 'expected comma-separated CIDRs such as 10.1.0.0/16'),
  /**
   * Colon-separated folders local-file sources may come from. Default: /data (the `docker run -v` mount)
   * and the working directory; none in a Kubernetes pod.
   */
  INGEST_LOCAL_ROOTS: z.string().default(inCluster ? '' : `/data:${process.cwd()}`),
  INGEST_CONCURRENCY: IntEnv({ min: 1, max: 32 }).default(2),
  FFMPEG_PATH: z.string().min(1).optional(),
  FFPROBE_PATH: z.string().min(1).optional(),
});
export type Env = z.output<typeof env>;

export const ENV_HELP = {
  INGEST_DOWNLOAD_DIR: 'scratch folder for downloads (default /tmp/downloads)',
  INGEST_MAX_BYTES: 'largest source accepted, bytes (default 2 GiB)',
  INGEST_MIN_DURATION_S: 'shortest audio accepted, seconds (default 1)',
  INGEST_MAX_DURATION_S: 'longest audio accepted, seconds (default 10800)',
  INGEST_MIN_SAMPLE_RATE: 'lowest source sample rate accepted, Hz (default 8000)',
  INGEST_SILENCE_MAX_DB: 'peak level at or below which audio is silent, dBFS (default -60)',
  INGEST_CONNECT_TIMEOUT_MS: 'connect timeout for http(s) sources (default 10000)',
  INGEST_READ_TIMEOUT_MS: 'longest stall while reading a response (default 30000)',
  INGEST_MAX_REDIRECTS: 'redirects followed per source (default 5)',
  INGEST_ALLOW_PRIVATE_ADDRESSES: 'allow private/loopback/link-local addresses (default false)',
  INGEST_ALLOWED_CIDRS: 'comma-separated CIDRs allowed although private',
  INGEST_LOCAL_ROOTS:
    'colon-separated folders local files may come from (default /data and the cwd; none in a pod)',
  INGEST_CONCURRENCY: 'sources processed at once (default 2)',
  FFMPEG_PATH: 'ffmpeg binary (default: ffmpeg on PATH)',
  FFPROBE_PATH: 'ffprobe binary (default: ffprobe on PATH)',
};
