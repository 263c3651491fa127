import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { stopLeftover } from './embedded-ollama.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-ollama-'));
const children: Array<ReturnType<typeof spawn>> = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A long-running process whose command line is `<dir>/<name> serve` (`yes` under another name). */
function fakeServe(name: string) {
  const bin = path.join(dir, name);
  if (!fs.existsSync(bin)) fs.symlinkSync('/usr/bin/yes', bin);
  const child = spawn(bin, ['serve'], { stdio: 'ignore' });
  children.push(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, exited };
}

describe('stopLeftover', () => {
  it('stops the Ollama a killed run left behind, named by the pid file, and removes the file', async () => {
    const { child, exited } = fakeServe('ollama');
    const pidFile = path.join(dir, 'ollama.pid');
    fs.writeFileSync(pidFile, String(child.pid));
    stopLeftover(pidFile, '/elsewhere/ollama');
    await Promise.race([exited, sleep(5000)]);
    expect(child.signalCode).toBe('SIGTERM');
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it('leaves alone a process that is not this binary serving (the pid was reused)', async () => {
    const { child } = fakeServe('something-else');
    const pidFile = path.join(dir, 'other.pid');
    fs.writeFileSync(pidFile, String(child.pid));
    stopLeftover(pidFile, '/elsewhere/ollama');
    await sleep(200);
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it('does nothing without a pid file, or with a stale one', () => {
    expect(() => stopLeftover(path.join(dir, 'none.pid'), 'ollama')).not.toThrow();
    fs.writeFileSync(path.join(dir, 'stale.pid'), '999999999');
    expect(() => stopLeftover(path.join(dir, 'stale.pid'), 'ollama')).not.toThrow();
  });
});
