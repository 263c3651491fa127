import type { TestProject } from 'vitest/node';
import { IMAGES } from './images.ts';
import { describeServices, loopbackServices, ollamaFrom, type TestServices } from './index.ts';

/**
 * Vitest globalSetup for *.int.test.ts: resolves the real services once per test run and provides them
 * to the tests (`inject('services')`).
 *
 * PRONIELTS_TEST_SERVICES=containers|loopback forces a mode; by default a reachable Docker engine means
 * testcontainers, anything else means the loopback services of scripts/services.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const wanted = process.env.PRONIELTS_TEST_SERVICES_MODE ?? 'auto';
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

async function startContainers(): Promise<{ services: TestServices; teardown: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { MinioContainer } = await import('@testcontainers/minio');
  const [pgC, minioC, motoC] = await Promise.all([
    new PostgreSqlContainer(IMAGES.postgres).withCommand(['postgres', '-c', 'max_connections=300']).start(),
    new MinioContainer(IMAGES.minio)
      .withUsername('pronielts-test')
      .withPassword('pronielts-test-secret')
      .start(),
    new GenericContainer(IMAGES.moto)
      .withExposedPorts(5000)
      .withWaitStrategy(Wait.forHttp('/moto-api/', 5000))
      .start(),
  ]);
  const services: TestServices = {
    mode: 'containers',
    pg: { url: pgC.getConnectionUri(), description: `${IMAGES.postgres} (testcontainers)` },
    s3: [
      {
        name: 'minio',
        endPoint: minioC.getHost(),
        port: minioC.getPort(),
        accessKey: 'pronielts-test',
        secretKey: 'pronielts-test-secret',
        description: `${IMAGES.minio} (testcontainers)`,
      },
      {
        name: 'moto',
        endPoint: motoC.getHost(),
        port: motoC.getMappedPort(5000),
        accessKey: 'pronielts-test',
        secretKey: 'pronielts-test-secret',
        description: `${IMAGES.moto} (testcontainers)`,
      },
    ],
    // No Ollama container: there are no model weights to give it. A loopback Ollama still counts.
    ...ollamaFrom(process.env),
  };
  return {
    services,
    teardown: async () => {
      await Promise.allSettled([pgC.stop(), minioC.stop(), motoC.stop()]);
    },
  };
}
