import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/**
 * Servers a test owns and may kill: a private MinIO process and a private PostgreSQL cluster, from the
 * same binaries as the shared loopback services. Used to prove the harness exits 75 when a dependency
 * dies mid-run, without disturbing the servers other tests share.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not become ready in ${timeoutMs} ms`);
}

export interface OwnServer {
  env: Record<string, string>;
  kill(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets open (the kernel still accepts connections) but answers nothing. */
  freeze?(): void;
}

export async function startOwnMinio(minioBin: string): Promise<OwnServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pronielts-own-minio-'));
  const child = spawn(minioBin, ['server', dir, '--address', `127.0.0.1:${port}`, '--quiet'], {
    env: {
      ...process.env,
      MINIO_ROOT_USER: 'own-minio',
      MINIO_ROOT_PASSWORD: 'own-minio-secret',
      MINIO_BROWSER: 'off',
    },
    stdio: 'ignore',
  });
  await until('own MinIO', async () => (await fetch(`http://127.0.0.1:${port}/minio/health/ready`)).ok);
  return {
    env: {
      MINIO_ENDPOINT: `127.0.0.1:${port}`,
      MINIO_ACCESS_KEY: 'own-minio',
      MINIO_SECRET_KEY: 'own-minio-secret',
    },
    kill: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
    freeze: () => child.kill('SIGSTOP'),
  };
}

export async function startOwnPostgres(binDir: string): Promise<OwnServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pronielts-own-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (bin: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(binDir, bin), ...args], { stdio: 'pipe' })
      : execFileSync(path.join(binDir, bin), args, { stdio: 'pipe' });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    fs.chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'own', '--auth=trust', '--no-sync']);
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    path.join(dir, 'log'),
    '-w',
    'start',
    '-o',
    `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off`,
  ]);
  const url = `postgres://own@127.0.0.1:${port}/postgres`;
  await until('own PostgreSQL', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.end();
    return true;
  });
  return {
    env: { DATABASE_URL: url },
    // Immediate shutdown: every backend dies at once, like a crashed server.
    kill: async () => {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
