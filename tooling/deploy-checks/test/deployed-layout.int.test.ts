import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, s3Env, spawnStage, uniqueName } from '@pronielts/test-services';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../src/catalog.ts';
import { entrypoints, readDockerfile, STAGE_IMAGES } from '../src/dockerfile.ts';

/**
 * No Docker engine runs here, so this replays each Dockerfile's build steps on the host (turbo prune
 * --docker, a frozen offline install of the pruned manifests, the sources, the build, pnpm deploy
 * --prefer-offline --prod --legacy) and runs the result with the image's own ENTRYPOINT, /app mapped to the deploy folder and tini
 * left out. That proves the file layout the image ships: the CLI, its dependencies and the workspace
 * packages resolve from the deploy output alone.
 */

const services = inject('services');
const minioEndpoint = services.s3.find((s) => s.name === 'minio') ?? services.s3[0];
if (!minioEndpoint) throw new Error('no S3 test server');
const minio = minioEndpoint;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deployed-layout-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    // Synchronous: a hung step would block the worker past vitest's own timeouts, so it gets its own.
    timeout: 180_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, CI: 'true', TURBO_TELEMETRY_DISABLED: '1' },
  });

/** The Dockerfile's builder stage, step by step; returns the folder that becomes /app. */
function buildLikeTheImage(pkg: string): string {
  const work = path.join(root, pkg);
  const out = path.join(work, 'out');
  const ws = path.join(work, 'src');
  const app = path.join(work, 'app');
  fs.mkdirSync(ws, { recursive: true });
  run('pnpm', ['exec', 'turbo', 'prune', `@pronielts/${pkg}`, '--docker', '--out-dir', out], REPO_ROOT);
  fs.cpSync(path.join(out, 'json'), ws, { recursive: true });
  run('pnpm', ['install', '--frozen-lockfile', '--offline', '--reporter=silent'], ws);
  fs.cpSync(path.join(out, 'full'), ws, { recursive: true });
  run('pnpm', ['turbo', 'run', 'build', `--filter=@pronielts/${pkg}...`, '--output-logs=errors-only'], ws);
  // A legacy deploy resolves the package's dependencies again, from pnpm's metadata cache; a frozen
  // install never fills that cache, so --prefer-offline fetches what it lacks and reuses what it has.
  run('pnpm', ['deploy', '--prefer-offline', '--prod', '--legacy', '--filter', `@pronielts/${pkg}`, app], ws);
  // Only the deploy output goes into the image: drop the workspace so nothing can resolve from it.
  fs.rmSync(ws, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
  return app;
}

/** A container command line as the host runs it: tini dropped, /app → the deploy folder, node → this node. */
function hostCommand(argv: string[], app: string): { script: string; args: string[] } {
  const rest = argv[0] === '/usr/bin/tini' ? argv.slice(argv.indexOf('--') + 1) : argv;
  expect(rest[0]).toBe('node');
  const mapped = rest.slice(1).map((a) => (a.startsWith('/app/') ? path.join(app, a.slice(5)) : a));
  return { script: mapped[0] ?? '', args: mapped.slice(1) };
}

function entrypointOf(pkg: string): string[] {
  const eps = entrypoints(readDockerfile(pkg));
  const ep = eps.get(pkg === 'transcriber' ? 'cpu' : 'runtime');
  if (!ep) throw new Error(`no ENTRYPOINT in packages/${pkg}/Dockerfile`);
  return ep;
}

describe.each(Object.keys(STAGE_IMAGES))('the %s image layout', { timeout: 240_000 }, (pkg) => {
  let app: string;
  beforeAll(() => {
    app = buildLikeTheImage(pkg);
  }, 240_000);

  it('contains the built CLI and its bundle, its production dependencies and no dev dependencies', () => {
    expect(fs.existsSync(path.join(app, 'dist/cli.js'))).toBe(true);
    expect(fs.existsSync(path.join(app, 'dist/bundle/cli.js'))).toBe(true);
    expect(fs.existsSync(path.join(app, 'node_modules/esbuild'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'node_modules/@pronielts/shared/dist'))).toBe(true);
    expect(fs.existsSync(path.join(app, 'node_modules/vitest'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'node_modules/@pronielts/test-services'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'src'))).toBe(false);
  });

  it('starts through the image ENTRYPOINT and prints its usage', async () => {
    const { script, args } = hostCommand(entrypointOf(pkg), app);
    const p = spawnStage(script, [...args, '--help'], {}, { cwd: root });
    expect(await p.exit).toBe(0);
    expect(p.lines.join('\n')).toMatch(/usage/i);
  });

  if (pkg === 'exporter') {
    it('runs `migrate latest` (the migrate task) and the bucket-init Job command line for real', async () => {
      const db = await createTestDatabase(services);
      try {
        const { script, args } = hostCommand(entrypointOf(pkg), app);
        const migrate = spawnStage(
          script,
          [...args, 'migrate', 'latest'],
          { DATABASE_URL: db.url },
          { cwd: root },
        );
        expect(await migrate.exit).toBe(0);
        expect(migrate.json().filter((l) => l.msg === 'step').length).toBeGreaterThan(0);
      } finally {
        await db.drop();
      }
      const job = parse(fs.readFileSync(path.join(REPO_ROOT, 'k8s/base/minio-bucket-init.yaml'), 'utf8'));
      const c = job.spec.template.spec.containers[0];
      const { script, args } = hostCommand([...c.command, ...c.args], app);
      const prefix = `${uniqueName()}-`;
      const buckets = spawnStage(script, args, s3Env(minio, prefix), { cwd: root });
      expect(await buckets.exit).toBe(0);
      expect(buckets.json().find((l) => l.msg === 'buckets ready')).toBeDefined();
      expect(buckets.json().at(-1)).toMatchObject({ aborted: 0, days: 1 });
    });
  }

  if (pkg === 'ingestor') {
    it('ingests a spoken WAV into PostgreSQL and MinIO and writes the XCom summary', async () => {
      const db = await createTestDatabase(services);
      try {
        execFileSync(
          process.execPath,
          [path.join(REPO_ROOT, 'packages/shared/dist/db/migrate-cli.js'), 'latest'],
          {
            env: { PATH: process.env.PATH, DATABASE_URL: db.url },
            stdio: 'ignore',
          },
        );
        const data = fs.mkdtempSync(path.join(root, 'data-'));
        const wav = path.join(data, 'answer.wav');
        execFileSync('espeak-ng', [
          '-w',
          wav,
          'Describe a place you like to visit. I like the park near my house.',
        ]);
        const xcom = fs.mkdtempSync(path.join(root, 'xcom-'));
        const { script, args } = hostCommand(entrypointOf(pkg), app);
        const p = spawnStage(
          script,
          [...args, '--run-id', uniqueName('run'), '--source', wav],
          {
            ...s3Env(minio),
            DATABASE_URL: db.url,
            INGEST_LOCAL_ROOTS: data,
            INGEST_DOWNLOAD_DIR: fs.mkdtempSync(path.join(root, 'dl-')),
            AIRFLOW_XCOM_DIR: xcom,
          },
          { cwd: fs.mkdtempSync(path.join(root, 'cwd-')) },
        );
        expect(await p.exit, p.lines.join('\n')).toBe(0);
        const summary = JSON.parse(fs.readFileSync(path.join(xcom, 'return.json'), 'utf8'));
        expect(summary.mediaIds).toHaveLength(1);
      } finally {
        await db.drop();
      }
    });
  }
});
