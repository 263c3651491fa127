import { spawn } from 'node:child_process';
import path from 'node:path';

/** Shared benchmark helpers: timing, medians, child processes with peak memory, a results table. */

export const REPORTER = path.resolve(import.meta.dirname, 'rss-reporter.mjs');

export interface Timed {
  ms: number;
  /** Peak RSS of the measured process tree in MiB (GNU time's %M: the largest single process). */
  peakMiB: number;
  /** Peak RSS of the node process itself in MiB, when it reported it. */
  nodePeakMiB?: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs a command under GNU time, returning wall time and peak RSS. */
export function timed(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '__PEAK_KB=%M', cmd, ...args], {
      env: { ...process.env, ...opts.env },
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const peak = Number(/__PEAK_KB=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
      const nodePeak = /__NODE_MAXRSS_KB=(\d+)/.exec(stderr)?.[1];
      resolve({
        ms,
        peakMiB: peak,
        ...(nodePeak ? { nodePeakMiB: Number(nodePeak) / 1024 } : {}),
        stdout,
        stderr,
        code,
      });
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function table(title: string, rows: Array<Record<string, string | number>>): void {
  const first = rows[0];
  if (!first) return;
  const cols = Object.keys(first);
  const fmt = (v: string | number) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v;
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ');
  console.log(`\n## ${title}\n`);
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => fmt(r[c] ?? ''))));
}

export function progress(msg: string): void {
  process.stderr.write(`… ${msg}\n`);
}
