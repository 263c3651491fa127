import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as Minio from 'minio';
import pg from 'pg';

export { type CrashTrialReport, type CrashWorld, crashTrials, prng } from './crash.ts';
export { holdSlot, type LiveOllama, resolveLiveOllama } from './live-ollama.ts';
export { isCi, requireFile, requireTool } from './require-tool.ts';
export { type LastSummary, type SpawnedStage, spawnStage } from './spawn.ts';
export { normalisedWords, wordErrorRate } from './wer.ts';

/**
 * Where the integration tests find real PostgreSQL and S3 servers. One shape for both sources:
 *  - "containers": testcontainers started them (a Docker engine is reachable);
 *  - "loopback": scripts/services started them on 127.0.0.1 (PostgreSQL from Debian, MinIO built from
 *    its Go module, moto from PyPI), and exported PRONIELTS_TEST_* or wrote them to its env file.
 * Optionally a real Ollama (built from its Go module by scripts/build-ollama) serving a tiny random-weight
 * model (scripts/make-tiny-model): present only when scripts/services could build and start it.
 */

export type S3ServerName = 'minio' | 'versitygw' | 'moto';

/**
 * Known deviations of a server from S3, so tests can skip exactly what a server cannot do.
 * moto 5.x answers CompleteMultipartUpload with a <CompleteMultipartUploadResponse> root element instead
 * of S3's <CompleteMultipartUploadResult>, which the minio client cannot parse. MinIO lists incomplete
 * multipart uploads only for one exact object key, never under a prefix. moto dates every incomplete
 * upload 2010-11-10 (its <Initiated> is a constant).
 */
export const S3_QUIRKS: Record<S3ServerName, string[]> = {
  minio: ['list-uploads-exact-key-only'],
  versitygw: [],
  moto: ['multipart-complete-response', 'upload-initiated-constant'],
};

export interface S3Endpoint {
  name: S3ServerName;
  endPoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
  description: string;
}

/** A real Ollama server for the LLM integration tests. */
export interface OllamaEndpoint {
  /** Base URL, e.g. http://127.0.0.1:59434 (what a stage's OLLAMA_HOST gets). */
  host: string;
  /** The model that exists on it (the tiny random-weight one). */
  model: string;
  /** Its OLLAMA_NUM_PARALLEL: generations it runs at once. */
  numParallel: number;
  description: string;
}

export interface TestServices {
  mode: 'containers' | 'loopback';
  pg: { url: string; description: string; binDir?: string };
  /** The first is the primary S3 server (MinIO when available); the rest are other implementations. */
  s3: S3Endpoint[];
  /** MinIO binary, for tests that start and kill their own server (loopback mode). */
  minioBin?: string;
  /** A real Ollama with a tiny random-weight model; absent when scripts/services could not run one. */
  ollama?: OllamaEndpoint;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: TestServices;
  }
}

function splitHostPort(hostPort: string): { endPoint: string; port: number } {
  const [endPoint, port] = hostPort.split(':');
  if (!endPoint || !port) throw new Error(`expected host:port, got ${hostPort}`);
  return { endPoint, port: Number(port) };
}

/** Reads the loopback services from PRONIELTS_TEST_* env vars, or from scripts/services' env file. */
export function loopbackServices(env: NodeJS.ProcessEnv = process.env): TestServices | undefined {
  let vars: Record<string, string | undefined> = env;
  if (!vars.PRONIELTS_TEST_PG_URL) {
    const dir =
      env.PRONIELTS_SERVICES_DIR ?? path.join(os.tmpdir(), `pronielts-services-${process.getuid?.() ?? 0}`);
    const file = path.join(dir, 'env');
    if (!fs.existsSync(file)) return undefined;
    vars = Object.fromEntries(
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^'(.*)'$/, '$1')]),
    );
  }
  const pgUrl = vars.PRONIELTS_TEST_PG_URL;
  if (!pgUrl) return undefined;
  const accessKey = vars.PRONIELTS_TEST_S3_ACCESS_KEY ?? '';
  const secretKey = vars.PRONIELTS_TEST_S3_SECRET_KEY ?? '';
  const s3: S3Endpoint[] = [];
  for (const name of (vars.PRONIELTS_TEST_S3_SERVERS ?? '').split(',').filter(Boolean) as S3ServerName[]) {
    const ep = vars[`PRONIELTS_TEST_${name.toUpperCase()}_ENDPOINT`];
    if (!ep) continue;
    s3.push({
      name,
      ...splitHostPort(ep),
      accessKey,
      secretKey,
      description: vars[`PRONIELTS_TEST_${name.toUpperCase()}_DESC`] ?? name,
    });
  }
  return {
    mode: 'loopback',
    pg: {
      url: pgUrl,
      description: vars.PRONIELTS_TEST_PG_DESC ?? 'PostgreSQL',
      ...(vars.PRONIELTS_TEST_PG_BINDIR ? { binDir: vars.PRONIELTS_TEST_PG_BINDIR } : {}),
    },
    s3,
    ...(vars.PRONIELTS_TEST_MINIO_BIN ? { minioBin: vars.PRONIELTS_TEST_MINIO_BIN } : {}),
    ...ollamaFrom(vars),
  };
}

/** The Ollama entry from PRONIELTS_TEST_OLLAMA_* (scripts/services' env file or the environment). */
function ollamaFrom(vars: Record<string, string | undefined>): { ollama?: OllamaEndpoint } {
  const host = vars.PRONIELTS_TEST_OLLAMA_HOST;
  const model = vars.PRONIELTS_TEST_OLLAMA_MODEL;
  if (!host || !model) return {};
  return {
    ollama: {
      host,
      model,
      numParallel: Number(vars.PRONIELTS_TEST_OLLAMA_NUM_PARALLEL ?? 1),
      description: vars.PRONIELTS_TEST_OLLAMA_DESC ?? `Ollama at ${host}, model ${model}`,
    },
  };
}

export function describeServices(s: TestServices): string {
  return [
    `test services (${s.mode}):`,
    `  postgres: ${s.pg.description}`,
    ...s.s3.map((e, i) => `  s3${i === 0 ? ' (primary)' : ''}: ${e.description}`),
    `  ollama: ${s.ollama?.description ?? 'none (the live LLM suites skip)'}`,
  ].join('\n');
}

/** A short random token for names that must not collide between test files. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/**
 * A fresh, empty database on the test server. Each test file gets its own, so files can run in
 * parallel and a migration test really starts from nothing.
 */
export async function createTestDatabase(
  services: TestServices,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = uniqueName('pronielts_test_');
  const admin = new pg.Client({ connectionString: services.pg.url });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(services.pg.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: services.pg.url });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** The MINIO_* env of a stage pointed at a test S3 server, with buckets under a fresh prefix. */
export function s3Env(endpoint: S3Endpoint, bucketPrefix = `${uniqueName()}-`): Record<string, string> {
  return {
    MINIO_ENDPOINT: `${endpoint.endPoint}:${endpoint.port}`,
    MINIO_ACCESS_KEY: endpoint.accessKey,
    MINIO_SECRET_KEY: endpoint.secretKey,
    MINIO_BUCKET_PREFIX: bucketPrefix,
  };
}

/** A plain minio client on a test S3 server, for what a test does beside the store (buckets, raw uploads). */
export function s3Client(endpoint: S3Endpoint): Minio.Client {
  return new Minio.Client({
    endPoint: endpoint.endPoint,
    port: endpoint.port,
    useSSL: false,
    accessKey: endpoint.accessKey,
    secretKey: endpoint.secretKey,
    pathStyle: true,
  });
}
