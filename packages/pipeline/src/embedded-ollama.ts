import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/**
 * The LLM for a run on one machine when no Ollama is configured: the project's own Ollama (built by
 * scripts/build-ollama) on a private loopback port, with a model store of its own under the data
 * folder, stopped when the run ends. It serves the configured model (LLM_MODEL, then the fallback) if it
 * has it or can pull it, else the small model scripts/small-llm puts into the tools cache (Gemma 3 270M):
 * real, but only good for trying the pipeline.
 */

/** The name the small model is served under. */
export const SMALL_MODEL = 'pronielts-small';
/** Where scripts/small-llm puts the small model, under the tools cache. */
export const SMALL_MODEL_DIR = 'llm-gemma3-270m-q4km';
/** What the progress output and the report say when the small model serves. */
export const SMALL_MODEL_NOTE =
  'Gemma 3 270M, a small base model for trying the pipeline: its labels and texts are weak; content needs llama3.1:8b or better';

export interface EmbeddedOllama {
  host: string;
  model: string;
  /** True when the small model serves (the configured ones were not available). */
  small: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOllamaOptions {
  /** The ollama binary. */
  bin: string;
  /** A folder for its models and HOME (kept between runs, so the model is created once). */
  stateDir: string;
  /** The folder of scripts/small-llm (Modelfile and GGUF). */
  smallModelDir: string;
  primary: string;
  fallback: string;
  /** How long a pull of the configured model may take before the small model is used. */
  pullTimeoutMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Whether an Ollama answers at `host` within a second. */
export async function ollamaAnswers(host: string): Promise<boolean> {
  try {
    return (await fetch(`${host}/api/version`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

export async function startEmbeddedOllama(o: EmbeddedOllamaOptions): Promise<EmbeddedOllama> {
  if (!fs.existsSync(path.join(o.smallModelDir, 'Modelfile'))) {
    throw new Error(`the small model is not in ${o.smallModelDir}: run scripts/setup (scripts/small-llm)`);
  }
  const port = await freePort();
  const host = `http://127.0.0.1:${port}`;
  const home = path.join(o.stateDir, 'home');
  const models = path.join(o.stateDir, 'models');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(models, { recursive: true });
  const env = {
    ...process.env,
    HOME: home,
    OLLAMA_HOST: `127.0.0.1:${port}`,
    OLLAMA_MODELS: models,
    OLLAMA_NO_CLOUD: '1',
    OLLAMA_NOPRUNE: '1',
    // One generation at a time (the stages send one at a time too): on a few CPU cores, parallel
    // generations only slow each other down.
    OLLAMA_NUM_PARALLEL: '1',
  };
  const pidFile = path.join(o.stateDir, 'ollama.pid');
  stopLeftover(pidFile, o.bin);
  const log = fs.openSync(path.join(o.stateDir, 'ollama.log'), 'a');
  const child: ChildProcess = spawn(o.bin, ['serve'], { env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  if (child.pid) fs.writeFileSync(pidFile, String(child.pid));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(pidFile, { force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    while (!(await ollamaAnswers(host))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `the project's Ollama (${o.bin}) did not start; see ${path.join(o.stateDir, 'ollama.log')}`,
        );
      }
      await sleep(200);
    }
    for (const model of [o.primary, o.fallback]) {
      if ((await has(host, model)) || (await pull(host, model, o.pullTimeoutMs ?? 15_000))) {
        return { host, model, small: false, stop };
      }
    }
    if (!(await has(host, SMALL_MODEL))) {
      await promisify(execFile)(o.bin, ['create', SMALL_MODEL, '-f', 'Modelfile'], {
        cwd: o.smallModelDir,
        env,
      });
    }
    return { host, model: SMALL_MODEL, small: true, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Stops the Ollama a previous run left behind: a runner killed outright (SIGKILL) cannot stop its
 * child, which then keeps serving on its private port. Only a process that is still this binary's
 * `serve` is stopped (the pid may have been reused since).
 */
export function stopLeftover(pidFile: string, bin: string): void {
  const pid = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : NaN);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (path.basename(cmd[0] ?? '') === path.basename(bin) && cmd[1] === 'serve')
      process.kill(pid, 'SIGTERM');
  } catch {
    // gone already (or no /proc): nothing to stop
  }
  fs.rmSync(pidFile, { force: true });
}

async function has(host: string, model: string): Promise<boolean> {
  const res = await fetch(`${host}/api/show`, {
    method: 'POST',
    body: JSON.stringify({ model }),
    signal: AbortSignal.timeout(10_000),
  });
  return res.ok;
}

/**
 * Pulls a model, streaming its progress; false when the registry does not answer within `timeoutMs` or
 * says no (an offline machine: the registry's name does not resolve). A pull that has started runs to
 * its end, however long the download takes.
 */
async function pull(host: string, model: string, timeoutMs: number): Promise<boolean> {
  const first = new AbortController();
  const timer = setTimeout(() => first.abort(), timeoutMs);
  try {
    const res = await fetch(`${host}/api/pull`, {
      method: 'POST',
      body: JSON.stringify({ model, stream: true }),
      signal: first.signal,
    });
    if (!res.ok || !res.body) return false;
    let last = '';
    for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
      clearTimeout(timer);
      last = (last + chunk).split('\n').filter(Boolean).at(-1) ?? '';
      if (last.includes('"error"')) return false;
    }
    return last.includes('"success"');
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
