import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { spawnStage } from '@pronielts/test-services';
import type { ReportData } from '../src/report/data.ts';

/** The built runner, as `pnpm pipeline` runs it. */
export const RUNNER = path.resolve(import.meta.dirname, '../dist/cli.js');
export const SAMPLE = path.resolve(import.meta.dirname, '../../../samples/ielts-part1-sample.ogg');
export const RESULTS = path.resolve(import.meta.dirname, '../test-results');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Runs the built runner CLI (it spawns the stages' bundled CLIs) with exactly this env. */
export async function runRunner(args: string[], env: Record<string, string>, cwd?: string) {
  const p = spawnStage(RUNNER, args, env, cwd ? { cwd } : {});
  const code = await p.exit;
  return { code, out: p.lines.join('\n'), lines: p.lines };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A stand-in for the model host over real HTTP: serves files from `dir` by name with a content-length,
 * in small chunks so the download has progress to report. Counts requests.
 */
export async function fileServer(
  dir: string,
): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const file = path.join(dir, path.basename(req.url ?? ''));
    if (!fs.existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-length': fs.statSync(file).size,
      'content-type': 'application/octet-stream',
    });
    fs.createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export function readReport(htmlFile: string): ReportData {
  return JSON.parse(fs.readFileSync(htmlFile.replace(/\.html$/, '.json'), 'utf8')) as ReportData;
}

export interface Summary {
  counts: { in: number; out: number; rejected: number; skipped: number };
  rejections: Record<string, number>;
  llmCalls?: number;
  releaseId?: string;
  [k: string]: unknown;
}

/** The XCom summary a stage wrote in this run (the runner gives each stage its own folder). */
export function xcom(dataDir: string, runId: string, stage: string): Summary {
  return JSON.parse(
    fs.readFileSync(path.join(dataDir, 'runs', runId, 'xcom', stage, 'return.json'), 'utf8'),
  ) as Summary;
}

export const STAGES = ['ingest', 'transcribe', 'classify', 'paraphrase', 'validate', 'export'] as const;
