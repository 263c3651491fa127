import path from 'node:path';
import { z } from 'zod';
import { BoolEnv, IntEnv, OptionalString } from './env-util.ts';

export { type EnvRow, envHelp, envRows, envTable, fillEnvRegions } from './describe.ts';
export { BoolEnv, formatEnvIssues, IntEnv, OptionalString, parseEnv } from './env-util.ts';

/**
 * The env every stage shares: object storage, the automation DB, logging and the harness.
 * Stages extend `sharedEnvShape` with their own variables in their `env.ts` and parse once with `parseEnv`.
 * Each variable's `.describe()` is its documentation, in --help and the READMEs (describe.ts).
 */

/** Whether `v` parses as a URL with a host (the WHATWG parser pg and fetch use). */
function isUrlWithHost(v: string): boolean {
  try {
    return new URL(v).hostname !== '';
  } catch {
    return false;
  }
}

/** Whether the URL carries a user name or password. */
function hasCredentials(v: string): boolean {
  try {
    const u = new URL(v);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

const HOST_PORT = /^(?:https?:\/\/)?[A-Za-z0-9.-]+(?::\d{1,5})?\/?$/;
/** Lowercase bucket-name characters only: the prefix is prepended to the seed's bucket names. */
const BUCKET_PREFIX = /^[a-z0-9][a-z0-9-]{0,30}-$/;

export const sharedEnvShape = {
  MINIO_ENDPOINT: OptionalString.pipe(
    z.string().regex(HOST_PORT, 'expected host:port, e.g. minio.minio.svc.cluster.local:9000').optional(),
  ).describe(
    'host:port of the S3 API (MinIO or any S3 server), e.g. minio.minio.svc.cluster.local:9000; a http(s):// prefix is accepted. Unset: a local folder store under PRONIELTS_DATA_DIR.',
  ),
  MINIO_ACCESS_KEY: OptionalString.describe('S3 access key; required with MINIO_ENDPOINT.'),
  MINIO_SECRET_KEY: OptionalString.describe('S3 secret key; required with MINIO_ENDPOINT.'),
  MINIO_USE_SSL: BoolEnv.default(false).describe('Use TLS to the S3 API (an https:// endpoint always does).'),
  MINIO_REGION: z.string().min(1).default('us-east-1').describe('S3 region.'),
  MINIO_IDLE_TIMEOUT_MS: IntEnv({ min: 1000, max: 3_600_000 })
    .default(30_000)
    .describe(
      'An S3 request fails (exit 75) when its connection is silent this long: connecting, waiting for an answer or mid-transfer. A large transfer that moves is never cut.',
    ),
  MINIO_BUCKET_PREFIX: OptionalString.pipe(
    z.string().regex(BUCKET_PREFIX, 'expected lowercase letters, digits and dashes ending in "-"').optional(),
  ).describe('Prefix for the three bucket names (e.g. staging-), for several environments in one server.'),
  DATABASE_URL: OptionalString.pipe(
    z
      .string()
      .regex(/^postgres(?:ql)?:\/\/\S+$/, 'expected a postgres:// or postgresql:// URL')
      .refine(
        isUrlWithHost,
        'does not parse as a URL (expected postgres://host:port/database with user and password)',
      )
      .optional(),
  ).describe('postgres:// URL of the automation DB. Unset: an embedded PGlite under PRONIELTS_DATA_DIR.'),
  DB_POOL_MAX: IntEnv({ min: 1, max: 100 }).default(4).describe('PostgreSQL connections per stage process.'),
  PRONIELTS_DATA_DIR: z
    .string()
    .min(1)
    .default('.pronielts')
    .describe('Where the embedded defaults live: the PGlite data dir and the folder object store.'),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('Lowest level logged.'),
  AIRFLOW_XCOM_DIR: z
    .string()
    .min(1)
    .default('/airflow/xcom')
    .describe(
      "The summary goes to return.json here when the folder exists (Airflow's KubernetesPodOperator reads it with do_xcom_push).",
    ),
  STAGE_SHUTDOWN_GRACE_MS: IntEnv({ min: 0, max: 600_000 })
    .default(20_000)
    .describe('How long a stage may take to wind down after SIGTERM before it exits 75 anyway.'),
};

const OLLAMA_IN_CLUSTER = 'http://ollama.ollama.svc.cluster.local:11434';
const OLLAMA_LOCAL = 'http://127.0.0.1:11434';

/** The Ollama settings of the LLM stages (classifier, paraphraser). */
export const llmEnvShape = {
  OLLAMA_HOST: z
    .string()
    .url('expected a URL such as http://127.0.0.1:11434')
    .refine(
      (v) => !hasCredentials(v),
      'must not carry a user name or password (Ollama has no authentication)',
    )
    .default(process.env.KUBERNETES_SERVICE_HOST ? OLLAMA_IN_CLUSTER : OLLAMA_LOCAL)
    .meta({
      description: "Ollama's API (no user name or password).",
      computedDefault: `${OLLAMA_IN_CLUSTER} in a pod, ${OLLAMA_LOCAL} elsewhere`,
    }),
  LLM_MODEL: z.string().min(1).default('llama3.1:8b').describe('The model asked first.'),
  LLM_FALLBACK_MODEL: z
    .string()
    .min(1)
    .default('mistral:7b')
    .describe('The model used when LLM_MODEL is missing on the server.'),
  LLM_CONCURRENCY: IntEnv({ min: 1, max: 64 })
    .default(4)
    .describe("Requests in flight at once: match Ollama's OLLAMA_NUM_PARALLEL to keep its slots busy."),
  LLM_TIMEOUT_MS: IntEnv({ min: 1000 })
    .default(180_000)
    .describe('Timeout per request, including queueing inside Ollama.'),
  LLM_STALL_TIMEOUT_MS: IntEnv({ min: 1000 })
    .default(30_000)
    .describe(
      'Silence after which Ollama counts as stalled (exit 75): between chunks always; before the first byte (sent with the first token, after any queueing) only if it does not answer /api/version either (a busy server is waited for).',
    ),
  LLM_RETRIES: IntEnv({ min: 0, max: 10 })
    .default(3)
    .describe('Retries on 5xx, timeouts and connection errors, with exponential backoff.'),
};

type SharedShapeOutput = z.output<z.ZodObject<typeof sharedEnvShape>>;

/** Cross-field rules: S3 credentials are required exactly when an S3 endpoint is configured. */
function sharedRules(env: SharedShapeOutput, ctx: z.core.$RefinementCtx<SharedShapeOutput>): void {
  if (!env.MINIO_ENDPOINT) return;
  for (const key of ['MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY'] as const) {
    if (!env[key]) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'is required when MINIO_ENDPOINT is set (expected a non-empty string)',
      });
    }
  }
}

export const sharedEnv = z.object(sharedEnvShape).superRefine(sharedRules);
export type SharedEnv = z.output<typeof sharedEnv>;

/** A stage's env schema: the shared variables plus its own, with the shared cross-field rules. */
export function stageEnv<T extends z.ZodRawShape>(shape: T) {
  return z.object({ ...sharedEnvShape, ...shape }).superRefine(sharedRules as never);
}

export const BUCKETS = {
  raw: 'pronielts-raw',
  transcriptions: 'pronielts-transcriptions',
  processed: 'pronielts-processed',
} as const;
export type BucketId = keyof typeof BUCKETS;

export type StorageConfig =
  | {
      kind: 's3';
      endPoint: string;
      port: number | undefined;
      useSSL: boolean;
      accessKey: string;
      secretKey: string;
      region: string;
      bucketPrefix: string;
      idleTimeoutMs: number;
    }
  | { kind: 'folder'; root: string; bucketPrefix: string };

export function storageConfigFrom(env: SharedEnv): StorageConfig {
  const bucketPrefix = env.MINIO_BUCKET_PREFIX ?? '';
  if (!env.MINIO_ENDPOINT) {
    return { kind: 'folder', root: path.resolve(env.PRONIELTS_DATA_DIR, 'objects'), bucketPrefix };
  }
  const explicitTls = env.MINIO_ENDPOINT.startsWith('https://');
  const hostPort = env.MINIO_ENDPOINT.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const [host, port] = hostPort.split(':');
  return {
    kind: 's3',
    endPoint: host ?? hostPort,
    port: port ? Number(port) : undefined,
    useSSL: explicitTls || env.MINIO_USE_SSL,
    // superRefine guarantees both when MINIO_ENDPOINT is set.
    accessKey: env.MINIO_ACCESS_KEY ?? '',
    secretKey: env.MINIO_SECRET_KEY ?? '',
    region: env.MINIO_REGION,
    bucketPrefix,
    idleTimeoutMs: env.MINIO_IDLE_TIMEOUT_MS,
  };
}

export type DbConfig =
  | { kind: 'postgres'; url: string; poolMax: number }
  | { kind: 'pglite'; dataDir: string };

export function dbConfigFrom(env: SharedEnv): DbConfig {
  if (env.DATABASE_URL) return { kind: 'postgres', url: env.DATABASE_URL, poolMax: env.DB_POOL_MAX };
  return { kind: 'pglite', dataDir: path.resolve(env.PRONIELTS_DATA_DIR, 'db') };
}

/** Values that must never appear in logs or error messages. */
export function secretsOf(env: SharedEnv): string[] {
  const out: string[] = [];
  if (env.MINIO_SECRET_KEY) out.push(env.MINIO_SECRET_KEY);
  if (env.MINIO_ACCESS_KEY) out.push(env.MINIO_ACCESS_KEY);
  if (env.DATABASE_URL) {
    try {
      const u = new URL(env.DATABASE_URL);
      if (u.password) out.push(decodeURIComponent(u.password), u.password);
    } catch {
      out.push(env.DATABASE_URL);
    }
  }
  return out.filter((s) => s.length >= 4);
}
