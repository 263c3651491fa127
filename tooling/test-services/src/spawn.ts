import { type ChildProcess, spawn } from 'node:child_process';

export interface SpawnedStage {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line that satisfies `pred` (JSON-parsed when possible). */
  waitForLine(pred: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exit: Promise<number | null>;
  /** Parsed JSON log lines. */
  json(): Array<Record<string, unknown>>;
  /** The `summary` field of the last log line (the stage's final report). */
  summary(): LastSummary;
}

export interface LastSummary {
  counts?: { in: number; out: number; rejected: number; skipped: number };
  error?: { code: string; message: string };
  [k: string]: unknown;
}

/**
 * Runs a stage CLI (a .ts file, through Node's type stripping) as a child process with exactly the given
 * env (plus PATH and HOME): nothing leaks in from the test runner's environment.
 */
export function spawnStage(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { cwd?: string } = {},
): SpawnedStage {
  const child = spawn(process.execPath, [script, ...args], {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let buf = '';
  const parse = (l: string): Record<string, unknown> => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return { raw: l };
    }
  };
  const onData = (chunk: Buffer) => {
    buf += chunk.toString();
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      const obj = parse(line);
      for (const w of [...waiters]) {
        if (w.pred(obj)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(obj);
        }
      }
      nl = buf.indexOf('\n');
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exit,
    json: () => lines.map(parse),
    summary: () => (lines.map(parse).at(-1)?.summary ?? {}) as LastSummary,
    waitForLine: (pred) =>
      new Promise((resolve, reject) => {
        const hit = lines.map(parse).find(pred);
        if (hit) return resolve(hit);
        waiters.push({ pred, resolve });
        exit.then((code) =>
          reject(new Error(`process exited (${code}) before the line appeared:\n${lines.join('\n')}`)),
        );
      }),
  };
}
