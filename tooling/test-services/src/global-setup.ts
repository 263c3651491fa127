import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { IMAGES } from './images.ts';
import { describeServices, loopbackServices, type S3Endpoint, type TestServices } from './index.ts';

/**
 * Vitest globalSetup for *.int.test.ts: resolves the real services once per test run and provides them
 * to the tests (`inject('services')`).
 *
 * PRONIELTS_TEST_SERVICES=containers|loopback forces a mode (scripts/services' env file sets loopback);
 * otherwise a reachable Docker-API engine means testcontainers, anything else the loopback services.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const wanted = process.env.PRONIELTS_TEST_SERVICES ?? 'auto';
  let services: TestServices | undefined;
  let teardown = async () => {};

  if (wanted === 'containers' || (wanted === 'auto' && (await dockerReachable()))) {
    ({ services, teardown } = await startContainers());
  } else {
    services = loopbackServices();
    if (!services) {
      throw new Error(
        'integration tests need real PostgreSQL and S3 servers: no Docker engine is reachable and the loopback ' +
          'services are not running. Start them with `scripts/services start` (or run `scripts/test`).',
      );
    }
  }
  if (!process.env.PRONIELTS_TEST_QUIET) process.stderr.write(`${describeServices(services)}\n`);
  project.provide('services', services);
  return teardown;
}

async function dockerReachable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}

/** The tiny random-weight model's folder (tiny.gguf + Modelfile), made by scripts/make-tiny-model (cached). */
function tinyModelDir(): string {
  const root = path.resolve(import.meta.dirname, '../../..');
  const out = execFileSync(path.join(root, 'scripts/make-tiny-model'), { encoding: 'utf8' });
  return out.trim().split('\n').at(-1) ?? '';
}

const S3_ACCESS = 'pronielts-test';
const S3_SECRET = 'pronielts-test-secret';

/**
 * The same servers as the loopback mode, as containers: PostgreSQL, MinIO, versitygw, moto and Ollama
 * serving the tiny random-weight model, so both modes run the same suites against the same servers.
 */
async function startContainers(): Promise<{ services: TestServices; teardown: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { MinioContainer } = await import('@testcontainers/minio');
  const modelDir = tinyModelDir();
  const [pgC, minioC, vgwC, motoC, ollamaC] = await Promise.all([
    new PostgreSqlContainer(IMAGES.postgres).withCommand(['postgres', '-c', 'max_connections=300']).start(),
    new MinioContainer(IMAGES.minio).withUsername(S3_ACCESS).withPassword(S3_SECRET).start(),
    new GenericContainer(IMAGES.versitygw)
      .withEnvironment({ ROOT_ACCESS_KEY: S3_ACCESS, ROOT_SECRET_KEY: S3_SECRET })
      .withCommand(['--port', ':7070', 'posix', '/tmp'])
      .withExposedPorts(7070)
      .withWaitStrategy(Wait.forListeningPorts())
      .start(),
    new GenericContainer(IMAGES.moto)
      .withExposedPorts(5000)
      .withWaitStrategy(Wait.forHttp('/moto-api/', 5000))
      .start(),
    new GenericContainer(IMAGES.ollama)
      .withEnvironment({ OLLAMA_NUM_PARALLEL: '2', OLLAMA_KEEP_ALIVE: '-1', OLLAMA_NOPRUNE: '1' })
      .withCopyDirectoriesToContainer([{ source: modelDir, target: '/models/tiny' }])
      .withExposedPorts(11434)
      .withWaitStrategy(Wait.forHttp('/api/version', 11434))
      .start(),
  ]);
  const created = await ollamaC.exec([
    'sh',
    '-c',
    'cd /models/tiny && ollama create pronielts-tiny -f Modelfile',
  ]);
  if (created.exitCode !== 0) throw new Error(`ollama create in its container failed: ${created.output}`);
  const s3 = (
    name: S3Endpoint['name'],
    c: { getHost(): string; getMappedPort(p: number): number },
    port: number,
    description: string,
  ): S3Endpoint => ({
    name,
    endPoint: c.getHost(),
    port: c.getMappedPort(port),
    accessKey: S3_ACCESS,
    secretKey: S3_SECRET,
    description: `${description} (testcontainers)`,
  });
  const services: TestServices = {
    mode: 'containers',
    pg: { url: pgC.getConnectionUri(), description: `${IMAGES.postgres} (testcontainers)` },
    s3: [
      s3('minio', minioC, 9000, IMAGES.minio),
      s3('versitygw', vgwC, 7070, IMAGES.versitygw),
      s3('moto', motoC, 5000, IMAGES.moto),
    ],
    ollama: {
      host: `http://${ollamaC.getHost()}:${ollamaC.getMappedPort(11434)}`,
      model: 'pronielts-tiny',
      numParallel: 2,
      description: `${IMAGES.ollama} (testcontainers), model pronielts-tiny (tiny, random weights)`,
    },
  };
  return {
    services,
    teardown: async () => {
      await Promise.allSettled([pgC, minioC, vgwC, motoC, ollamaC].map((c) => c.stop()));
    },
  };
}
