import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Progress, ProgressRecord } from '@pronielts/shared/log';
import type { StageSpec } from './stages.ts';

/**
 * Runs one stage CLI as a child process, exactly as a pod does: same binary, argv and env contract. Its
 * JSON log lines go to a log file and feed the progress view; its summary comes from the XCom file
 * ($AIRFLOW_XCOM_DIR/return.json, a folder of its own per stage) or, failing that, the last log line.
 */

export interface StageSummary {
  stage?: string;
  status?: string;
  durationMs?: number;
  counts?: { in?: number; out?: number; rejected?: number; skipped?: number };
  rejections?: Record<string, number>;
  error?: { code?: string; message?: string };
  [k: string]: unknown;
}

export interface StageOutcome {
  name: string;
  exitCode: number;
  wallMs: number;
  summary: StageSummary | null;
  logFile: string;
  /** The last few lines, for a failure message. */
  tail: string[];
}

/** What the view shows of a running stage: its last progress record and the last thing that happened. */
export interface ProgressEvent {
  progress?: Progress;
  /** The item just finished, or the last warning, in a few words. */
  note?: string;
}

export interface ExecuteOptions {
  spec: Pick<StageSpec, 'phase'> & { name: string };
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  runDir: string;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
}

/**
 * What a stage's log line changes in the view: a progress record (shared's `ProgressRecord`, the one the
 * stages emit) or a warning; undefined for any other line.
 */
export function viewAfter(shown: ProgressEvent, line: Record<string, unknown>): ProgressEvent | undefined {
  const record = ProgressRecord.safeParse(line);
  if (record.success) {
    const { progress } = record.data;
    return { progress, ...(progress.item ? { note: progress.item } : {}) };
  }
  if (line.level !== 'warn' && line.level !== 'error') return undefined;
  const reason = line.reason ?? (line.err as { message?: string } | undefined)?.message;
  return { ...shown, note: `${String(line.msg ?? '')}${reason ? `: ${String(reason)}` : ''}` };
}

export async function executeStage(o: ExecuteOptions): Promise<StageOutcome> {
  const xcomDir = path.join(o.runDir, 'xcom', o.spec.name);
  const logDir = path.join(o.runDir, 'logs');
  fs.rmSync(xcomDir, { recursive: true, force: true });
  fs.mkdirSync(xcomDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${o.spec.name}.log`);
  const log = fs.createWriteStream(logFile);
  const started = Date.now();
  const child = spawn(process.execPath, [o.bin, ...(o.spec.phase ? [o.spec.phase] : []), ...o.args], {
    cwd: o.cwd,
    env: { ...o.env, AIRFLOW_XCOM_DIR: xcomDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onAbort = () => child.kill('SIGTERM');
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const tail: string[] = [];
  let last: Record<string, unknown> | undefined;
  let shown: ProgressEvent = {};
  const onLine = (raw: string) => {
    log.write(`${raw}\n`);
    tail.push(raw);
    if (tail.length > 20) tail.shift();
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return;
    }
    last = line;
    const next = viewAfter(shown, line);
    if (!next) return;
    shown = next;
    o.onProgress?.(shown);
  };
  const split = (stream: NodeJS.ReadableStream) => {
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (buf) onLine(buf);
    });
  };
  if (child.stdout) split(child.stdout);
  if (child.stderr) split(child.stderr);

  const exitCode = await new Promise<number>((resolve) => {
    child.on('error', () => resolve(1));
    child.on('close', (code, sig) => resolve(code ?? (sig ? 75 : 1)));
  });
  o.signal?.removeEventListener('abort', onAbort);
  await new Promise<void>((resolve) => log.end(resolve));

  const xcomFile = path.join(xcomDir, 'return.json');
  let summary: StageSummary | null = null;
  if (fs.existsSync(xcomFile)) summary = JSON.parse(fs.readFileSync(xcomFile, 'utf8')) as StageSummary;
  else if (last && typeof last.summary === 'object' && last.summary) summary = last.summary as StageSummary;
  return { name: o.spec.name, exitCode, wallMs: Date.now() - started, summary, logFile, tail };
}

/**
 * New work: an item produced or rejected in this process, or an LLM call. Stages count items finished
 * earlier as skipped, so a re-run of a finished run has none.
 */
export function didWork(s: StageSummary | null): boolean {
  if (!s) return true;
  const done = (s.counts?.out ?? 0) + (s.counts?.rejected ?? 0);
  const llmCalls = typeof s.llmCalls === 'number' ? s.llmCalls : 0;
  return done > 0 || llmCalls > 0;
}
