import { spawn } from 'node:child_process';
import readline from 'node:readline';

/**
 * One whisper-cli process for many files: the model loads once, every file gets `<file>.json` beside it.
 * whisper-cli prints "output_json: saving output to '<path>'" (also with -np) *before* writing that
 * file, so a file is known complete when the next file's line appears or the process exits; `onOutput`
 * is called for each completed output, in order, while the process keeps working on the rest.
 */
export interface WhisperCliOptions {
  cli: string;
  model: string;
  threads: number;
  /** "auto" to detect; English-only models always answer "en". */
  language: string;
  beamSize: number;
  noFallback: boolean;
  signal?: AbortSignal;
  /** Called once per finished output file with the time whisper spent on it. */
  onOutput: (jsonPath: string, elapsedMs: number) => Promise<void>;
}

export interface WhisperCliResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Outputs reported complete (paths). */
  completed: string[];
  /** Last lines of stderr, for error messages. */
  stderrTail: string[];
  /** From process start to the first output: model load plus the first file. */
  wallMs: number;
}

export function whisperArgs(
  o: Omit<WhisperCliOptions, 'onOutput' | 'cli' | 'signal'>,
  inputs: string[],
): string[] {
  return [
    '-m',
    o.model,
    '-t',
    String(o.threads),
    '-l',
    o.language,
    '-bs',
    String(o.beamSize),
    ...(o.noFallback ? ['-nf'] : []),
    '-ojf',
    '-np',
    ...inputs.flatMap((f) => ['-f', f]),
  ];
}

export async function runWhisperCli(inputs: string[], o: WhisperCliOptions): Promise<WhisperCliResult> {
  const started = Date.now();
  const child = spawn(o.cli, whisperArgs(o, inputs), { stdio: ['ignore', 'ignore', 'pipe'] });
  const onAbort = () => child.kill('SIGKILL');
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const completed: string[] = [];
  const tail: string[] = [];
  let pending: string | undefined;
  let last = started;
  let chain = Promise.resolve();
  let callbackError: unknown;
  const finish = (file: string) => {
    const now = Date.now();
    const elapsed = now - last;
    last = now;
    completed.push(file);
    chain = chain
      .then(() => o.onOutput(file, elapsed))
      .catch((err) => {
        callbackError ??= err;
        child.kill('SIGKILL'); // a storage or DB failure: stop, the stage will exit 75 and resume later
      });
  };
  const rl = readline.createInterface({ input: child.stderr });
  rl.on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    const m = /saving output to '(.+\.json)'/.exec(line);
    if (m?.[1]) {
      if (pending) finish(pending);
      pending = m[1];
    }
  });
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => resolve([code, sig]));
  });
  o.signal?.removeEventListener('abort', onAbort);
  // The last announced file is complete if the process exited on its own (a crash or our kill may have
  // cut it short; it is then retried, never recorded).
  if (pending && signal === null && !o.signal?.aborted) finish(pending);
  await chain;
  if (callbackError) throw callbackError;
  return { exitCode, signal, completed, stderrTail: tail, wallMs: Date.now() - started };
}
