import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { speech } from '@pronielts/media-fixtures';
import { type OllamaTestServer, slow, startOllamaTestServer } from '@pronielts/ollama-test-server';
import { sharedEnv, storageConfigFrom } from '@pronielts/shared/config';
import { createObjectStore, readManifest } from '@pronielts/shared/storage';
import { createTestDatabase, requireFile, s3Env, spawnStage } from '@pronielts/test-services';
import { writeTinyWhisperModel } from '@pronielts/whisper-fixtures';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fileServer, RUNNER, readReport, runRunner, SAMPLE, STAGES, type Summary, xcom } from './helpers.ts';
import { checkReportInBrowser, launchChromium } from './report-browser.ts';

// The whole pipeline through the runner: real stage CLIs (child processes), real ffmpeg, real whisper.cpp
// with a generated random-weight model, PGlite or PostgreSQL, the folder store or a real S3 server, and
// the report in real Chromium. The one double is the Ollama-protocol test server (every answer is a
// minimal instance of the requested schema): it proves the protocol and the plumbing, not model quality.

const WHISPER_CLI = requireFile('whisper-cli', 'WHISPER_CLI', 'scripts/build-whisper builds it');
const haveWhisper = WHISPER_CLI !== undefined;
const services = inject('services');

let dir: string;
let ollama: OllamaTestServer;
let browser: Browser;
let models: Awaited<ReturnType<typeof fileServer>>;

const whisperEnv = (modelDir: string, model: string) => ({
  WHISPER_CLI: WHISPER_CLI ?? '',
  WHISPER_MODEL: model,
  WHISPER_MODEL_DIR: modelDir,
  WHISPER_BEAM_SIZE: '1',
  WHISPER_NO_FALLBACK: 'true',
  WHISPER_THREADS: '2',
});

const scratch = (d: string) => ({
  INGEST_DOWNLOAD_DIR: path.join(d, 'downloads'),
  TRANSCRIBE_WORK_DIR: path.join(d, 'processing'),
  EXPORT_WORK_DIR: path.join(d, 'export'),
});

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-e2e-'));
  // The "model host": the generated tiny model published under a downloadable model's file name.
  fs.mkdirSync(path.join(dir, 'host'));
  await writeTinyWhisperModel(path.join(dir, 'host', 'ggml-tiny.en.bin'));
  models = await fileServer(path.join(dir, 'host'));
  ollama = await startOllamaTestServer({});
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await ollama?.close();
  await models?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function summaries(dataDir: string, runId: string): Record<string, Summary> {
  return Object.fromEntries(STAGES.map((s) => [s, xcom(dataDir, runId, s)]));
}

// Each run spawns six or seven Node processes on a shared 2-core machine: generous per-test budget.
describe.skipIf(!haveWhisper)(
  'pnpm pipeline run on the embedded defaults (PGlite + folder store)',
  { timeout: 180_000 },
  () => {
    let env: Record<string, string>;
    let dataDir: string;
    let runId: string;
    let releaseId: string;

    beforeAll(() => {
      fs.mkdirSync(path.join(dir, 'embedded'), { recursive: true });
      dataDir = path.join(dir, 'embedded', 'data');
      env = {
        PRONIELTS_DATA_DIR: dataDir,
        OLLAMA_HOST: ollama.url,
        ...whisperEnv(path.join(dir, 'embedded', 'models'), 'tiny.en'),
        WHISPER_DOWNLOAD_BASE: models.url,
        ...scratch(path.join(dir, 'embedded')),
      };
    });

    it('downloads the missing whisper model with progress, runs every stage and publishes a release', async () => {
      const r = await runRunner(['run', SAMPLE], env);
      expect(r.code, r.out).toBe(0);
      // The model came over HTTP, with progress lines, into the model dir.
      expect(models.requests).toEqual(['/ggml-tiny.en.bin']);
      expect(r.out).toMatch(/downloading whisper model ggml-tiny\.en\.bin: \[#+-*\] \d+%/);
      expect(fs.statSync(path.join(dir, 'embedded', 'models', 'ggml-tiny.en.bin')).size).toBe(
        fs.statSync(path.join(dir, 'host', 'ggml-tiny.en.bin')).size,
      );
      // Plain lines off a TTY: no escape codes.
      expect(r.out).not.toContain(String.fromCharCode(27));
      // Progress from the stages' progress records: a bar over the items each planned, the item just done.
      expect(r.out).toMatch(/^pipeline: ingest: \[#{20}\] 1\/1 items · source 1: accepted$/m);
      expect(r.out).toMatch(/^pipeline: transcribe: \[#{20}\] 1\/1 items · (ok|suspect) · \d+ segments$/m);
      for (const stage of ['classify', 'paraphrase'])
        expect(r.out).toMatch(new RegExp(`^pipeline: ${stage}: \\[#{20}\\] (\\d+)/\\1 items · `, 'm'));
      expect(r.out).toMatch(/^pipeline: validate: [1-9]\d* done · page of \d+$/m);
      runId = /run (local-[0-9a-f]{12})/.exec(r.out)?.[1] ?? '';
      expect(runId).not.toBe('');

      const s = summaries(dataDir, runId);
      expect(s.ingest?.counts).toEqual({ in: 1, out: 1, rejected: 0, skipped: 0 });
      expect(s.transcribe?.counts.out).toBe(1);
      expect(s.classify?.counts.out).toBeGreaterThan(0);
      expect(s.paraphrase?.counts.out).toBeGreaterThan(0);
      expect(s.validate?.counts.in).toBeGreaterThan(0);
      releaseId = String(s.export?.releaseId);
      expect(releaseId).toMatch(/^rel_/);

      // The release exists in the folder store, manifest last, and the report names it and its place.
      const store = createObjectStore(storageConfigFrom(sharedEnv.parse({ PRONIELTS_DATA_DIR: dataDir })));
      const manifest = await readManifest(store, 'processed', `releases/${releaseId}`);
      expect(manifest?.meta).toMatchObject({ releaseId });
      const reportFile = path.join(dataDir, 'reports', `${runId}.html`);
      expect(r.out).toContain(`report: ${reportFile}`);
      const report = readReport(reportFile);
      expect(report.release?.id).toBe(releaseId);
      expect(report.release?.location).toBe(
        `${path.join(dataDir, 'objects', 'pronielts-processed', 'releases', releaseId)}/`,
      );
      // The terminal table has a row per stage and the release line.
      for (const stage of STAGES) expect(r.out).toMatch(new RegExp(`^${stage} +ok `, 'm'));
      expect(r.out).toContain(`release ${releaseId}`);

      await checkReportInBrowser(browser, reportFile, {
        runId,
        releaseId,
        summaries: s,
        screenshot: 'report-embedded.png',
      });
    });

    it('a second run of the same command does no work and says so', async () => {
      const calls = ollama.chatCalls().length;
      const r = await runRunner(['run', SAMPLE], env);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`nothing to do: run ${runId} was already complete`);
      for (const stage of ['transcribe', 'classify', 'paraphrase'])
        expect(r.out).toMatch(
          new RegExp(`^pipeline: ${stage}: nothing to do: all [1-9]\\d* item\\(s\\) done before$`, 'm'),
        );
      expect(r.out).not.toContain('downloading whisper model');
      expect(models.requests).toHaveLength(1);
      const s = summaries(dataDir, runId);
      for (const stage of STAGES) expect(s[stage]?.counts.out, stage).toBe(0);
      expect(s.export?.releaseId).toBe(releaseId);
      expect(ollama.chatCalls().length).toBe(calls);
      expect(readReport(path.join(dataDir, 'reports', `${runId}.html`)).noWork).toBe(true);
    });

    it('--only runs one stage and checks only what that stage needs (no Ollama for validate)', async () => {
      const r = await runRunner(['run', '--only', 'validate', '--run-id', runId], {
        ...env,
        OLLAMA_HOST: 'http://127.0.0.1:9', // would fail the Ollama precondition if it were checked
      });
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('stages validate ·');
      expect(r.out).not.toMatch(/ollama/i);
      expect(r.out).toMatch(/^pipeline: validate: started$/m);
      expect(r.out).not.toMatch(/^pipeline: (ingest|transcribe|classify|paraphrase|export): started$/m);
    });

    it('on a terminal: live listr2 progress instead of plain lines (under a pseudo-terminal)', async () => {
      // util-linux `script` gives the runner a real pty; 120 columns so the live view is chosen.
      const cmd = `stty cols 120 rows 40; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(RUNNER)} run --only validate --run-id ${runId}`;
      const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, out).toBe(0);
      expect(out).toContain(`${String.fromCharCode(27)}[`); // the live renderer redraws with escape codes
      expect(out).toMatch(/validate +in \d+ · out 0 · rejected 0 · skipped \d+/); // the task's final title
      expect(out).not.toContain('pipeline: validate: started'); // not the plain view
    });

    it('a failing stage stops the run with its exit code, its error and its log, and the report says so', async () => {
      ollama.setDefault({ kind: 'status', status: 500, error: 'llama runner process has terminated' });
      try {
        // New speech, so there are segments nobody classified yet (the sample's are done and cached).
        const wav = await speech(
          path.join(dir, 'embedded', 'new-answer.wav'),
          'Do you enjoy cooking? Yes, I cook dinner for my family most evenings.',
        );
        const r = await runRunner(['run', wav, '--run-id', 'fail-1'], { ...env, LLM_RETRIES: '0' });
        expect(r.code, r.out).toBe(75);
        expect(r.out).toMatch(
          /pipeline: classify failed \(exit 75\) after [\d.]+ s: Ollama at .*llama runner process has terminated/,
        );
        const log = path.join(dataDir, 'runs', 'fail-1', 'logs', 'classify.log');
        expect(r.out).toContain(`pipeline: full log: ${log}`);
        expect(fs.readFileSync(log, 'utf8')).toContain('"msg":"stage failed"');
        expect(r.out).not.toMatch(/^pipeline: (paraphrase|validate|export): started$/m);
        expect(r.out).not.toContain('nothing to do');
        const report = readReport(path.join(dataDir, 'reports', 'fail-1.html'));
        expect(report.failure).toMatch(/^classify failed \(exit 75\)/);
        expect(report.stages.map((s) => [s.name, s.exitCode])).toEqual([
          ['ingest', 0],
          ['transcribe', 0],
          ['classify', 75],
          ['paraphrase', null],
          ['validate', null],
          ['export', null],
        ]);
        expect(report.release).toBeNull();
      } finally {
        ollama.setDefault({ kind: 'auto' });
      }
    });

    it('SIGTERM stops the running stage as a pod is stopped: exit 75, nothing after it runs', async () => {
      // Slow answers keep classify busy long enough to be interrupted mid-stage.
      ollama.setDefault(slow(30_000, { kind: 'auto' }));
      try {
        const wav = await speech(
          path.join(dir, 'embedded', 'interrupted.wav'),
          'What kind of music do you like? I mostly listen to jazz when I study.',
        );
        const p = spawnStage(RUNNER, ['run', wav, '--run-id', 'stop-1'], env);
        await p.waitForLine((l) => String(l.raw ?? '').startsWith('pipeline: classify: ['));
        p.child.kill('SIGTERM');
        const code = await p.exit;
        const out = p.lines.join('\n');
        expect(code, out).toBe(75);
        expect(out).toMatch(/pipeline: classify failed \(exit 75\)/);
        expect(out).not.toMatch(/^pipeline: paraphrase: started$/m);
        const log = fs.readFileSync(path.join(dataDir, 'runs', 'stop-1', 'logs', 'classify.log'), 'utf8');
        expect(log).toContain('"signal":"SIGTERM"');
      } finally {
        ollama.setDefault({ kind: 'auto' });
      }
    });
  },
);

describe.skipIf(!haveWhisper)(
  'pnpm pipeline run on real services (PostgreSQL + S3)',
  { timeout: 240_000 },
  () => {
    const s3 = services.s3[0];
    let env: Record<string, string>;
    let dataDir: string;
    let dropDb: () => Promise<void>;
    let dbUrl: string;

    beforeAll(async () => {
      if (!s3) throw new Error('no S3 server');
      const modelDir = path.join(dir, 'services', 'models');
      await writeTinyWhisperModel(path.join(modelDir, 'ggml-tiny-random.bin'));
      const t = await createTestDatabase(services);
      dropDb = t.drop;
      dbUrl = t.url;
      dataDir = path.join(dir, 'services', 'data');
      env = {
        ...s3Env(s3),
        DATABASE_URL: dbUrl,
        PRONIELTS_DATA_DIR: dataDir,
        OLLAMA_HOST: ollama.url,
        ...whisperEnv(modelDir, 'tiny-random'),
        ...scratch(path.join(dir, 'services')),
      };
    });
    afterAll(async () => {
      await dropDb?.();
    });

    it('migrates the empty database, runs every stage and publishes a release to S3 and PostgreSQL', async () => {
      const r = await runRunner(['run', SAMPLE, '--run-id', 'Services Run 1'], env);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('run services-run-1 ·');
      expect(r.out).toContain('objects S3 at');
      expect(r.out).toMatch(/^pipeline: migrate: started$/m);
      expect(r.out).not.toContain(env.MINIO_SECRET_KEY as string);
      expect(r.out).not.toContain(dbUrl);
      const s = summaries(dataDir, 'services-run-1');
      const releaseId = String(s.export?.releaseId);
      expect(releaseId).toMatch(/^rel_/);

      const store = createObjectStore(storageConfigFrom(sharedEnv.parse(env)));
      try {
        expect((await readManifest(store, 'processed', `releases/${releaseId}`))?.meta).toMatchObject({
          releaseId,
        });
      } finally {
        await store.close();
      }
      const client = new pg.Client({ connectionString: dbUrl });
      await client.connect();
      try {
        const rows = await client.query('select status, item_count from releases where id = $1', [releaseId]);
        expect(rows.rows).toEqual([{ status: 'complete', item_count: s.export?.counts.in }]);
      } finally {
        await client.end();
      }
      const reportFile = path.join(dataDir, 'reports', 'services-run-1.html');
      expect(readReport(reportFile).release?.location).toMatch(
        new RegExp(`^s3://${env.MINIO_BUCKET_PREFIX}pronielts-processed/releases/${releaseId}/ on http://`),
      );
      await checkReportInBrowser(browser, reportFile, {
        runId: 'services-run-1',
        releaseId,
        summaries: s,
        screenshot: 'report-services.png',
      });

      const again = await runRunner(['run', SAMPLE, '--run-id', 'Services Run 1'], env);
      expect(again.code, again.out).toBe(0);
      expect(again.out).toContain('nothing to do: run services-run-1 was already complete');
      const s2 = summaries(dataDir, 'services-run-1');
      for (const stage of STAGES) expect(s2[stage]?.counts.out, stage).toBe(0);
      expect(s2.export?.releaseId).toBe(releaseId);
    });
  },
);
