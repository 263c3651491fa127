import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type OllamaTestServer, startOllamaTestServer } from '@pronielts/ollama-test-server';
import { writeTinyWhisperModel } from '@pronielts/whisper-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, runRunner, SAMPLE } from './helpers.ts';

// Each precondition failure: its own message and what to do, a non-zero exit, and no work at all — no
// data dir (so no database, no objects, no stage process), no LLM call, no partial model file.

let dir: string;
let ollama: OllamaTestServer;
let modelDir: string;
let dataDir: string;
let base: Record<string, string>;
const WHISPER_CLI = process.env.WHISPER_CLI;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-pre-'));
  modelDir = path.join(dir, 'models');
  await writeTinyWhisperModel(path.join(modelDir, 'ggml-tiny-random.bin'));
  ollama = await startOllamaTestServer({});
  dataDir = path.join(dir, 'data');
  // A complete, valid setup; each test breaks one thing.
  base = {
    PRONIELTS_DATA_DIR: dataDir,
    OLLAMA_HOST: ollama.url,
    WHISPER_CLI: WHISPER_CLI ?? '/bin/true',
    WHISPER_MODEL: 'tiny-random',
    WHISPER_MODEL_DIR: modelDir,
  };
});

afterAll(async () => {
  await ollama?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function expectNoWork(env: Record<string, string>, args: string[] = ['run', SAMPLE]) {
  const calls = ollama.chatCalls().length;
  const r = await runRunner(args, env);
  expect(r.code, r.out).not.toBe(0);
  expect(r.out).toMatch(
    /precondition\(s\) failed; nothing was done|could not be downloaded; nothing else was done/,
  );
  expect(r.out).not.toMatch(/: started$/m); // no stage process
  expect(fs.existsSync(dataDir)).toBe(false);
  expect(ollama.chatCalls().length).toBe(calls);
  return r;
}

describe('preconditions', () => {
  it('ffmpeg missing: names the variable and says how to install it, exit 2', async () => {
    const r = await expectNoWork({ ...base, FFMPEG_PATH: path.join(dir, 'no-ffmpeg') });
    expect(r.code).toBe(2);
    expect(r.out).toContain(`FAIL  ffmpeg: FFMPEG_PATH=${path.join(dir, 'no-ffmpeg')} does not run`);
    expect(r.out).toContain(
      '→ install it (Debian: apt-get install ffmpeg; scripts/setup does) or set FFMPEG_PATH',
    );
    expect(r.out).toMatch(/^pipeline: ok {4}ffprobe/m);
  });

  it('whisper model missing with downloads off: says where to put it, exit 2', async () => {
    const r = await expectNoWork({ ...base, WHISPER_MODEL: 'base.en' }, ['run', SAMPLE, '--no-download']);
    expect(r.code).toBe(2);
    expect(r.out).toContain(
      `FAIL  whisper model: ${path.join(modelDir, 'ggml-base.en.bin')} does not exist and downloads are off`,
    );
    expect(r.out).toContain(`→ copy ggml-base.en.bin into ${modelDir}`);
  });

  it('whisper model that cannot be downloaded (no network): says so, leaves no partial file, exit 75', async () => {
    const port = await closedPort();
    const r = await expectNoWork({
      ...base,
      WHISPER_MODEL: 'tiny.en',
      WHISPER_DOWNLOAD_BASE: `http://127.0.0.1:${port}`,
    });
    expect(r.code).toBe(75);
    expect(r.out).toContain(
      `FAIL  whisper model: downloading whisper model "tiny.en" from http://127.0.0.1:${port}/ggml-tiny.en.bin failed`,
    );
    expect(r.out).toContain('→ check the network (or WHISPER_DOWNLOAD_BASE)');
    expect(fs.readdirSync(modelDir)).toEqual(['ggml-tiny-random.bin']);
  });

  it('an unknown whisper model name that is not on disk: lists the downloadable ones, exit 2', async () => {
    const r = await expectNoWork({ ...base, WHISPER_MODEL: 'huge-v9' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('"huge-v9" is not a model that can be downloaded');
    expect(r.out).toContain('set WHISPER_MODEL to one of tiny, tiny.en, base');
  });

  it('whisper-cli missing: says how to build it, exit 2', async () => {
    const r = await expectNoWork({ ...base, WHISPER_CLI: path.join(dir, 'no-whisper-cli') });
    expect(r.code).toBe(2);
    expect(r.out).toContain(
      `FAIL  whisper-cli: WHISPER_CLI=${path.join(dir, 'no-whisper-cli')} is not an executable file`,
    );
    expect(r.out).toContain('→ build it with scripts/build-whisper');
  });

  it('Ollama unreachable: names the host and says to start it, exit 75', async () => {
    const port = await closedPort();
    const r = await expectNoWork({ ...base, OLLAMA_HOST: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(75);
    expect(r.out).toContain(
      `FAIL  ollama: Ollama at http://127.0.0.1:${port} (llama3.1:8b, fallback mistral:7b): unreachable`,
    );
    expect(r.out).toContain('→ start Ollama (ollama serve) and pull the model (ollama pull llama3.1:8b)');
  });

  it('Ollama without the model or its fallback: says which model to pull, exit 2', async () => {
    const other = await startOllamaTestServer({ models: ['qwen2:0.5b'] });
    try {
      const r = await expectNoWork({ ...base, OLLAMA_HOST: other.url });
      expect(r.code).toBe(2);
      expect(r.out).toContain('neither llama3.1:8b nor mistral:7b is available');
      expect(r.out).toContain('→ pull the model: ollama pull llama3.1:8b');
      expect(other.chatCalls()).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('Ollama with only the fallback model passes and says the fallback will answer', async () => {
    const other = await startOllamaTestServer({ models: ['mistral:7b'] });
    try {
      // Break ffmpeg so the run stops after the checks: this test is about the Ollama line.
      const r = await expectNoWork({ ...base, OLLAMA_HOST: other.url, FFMPEG_PATH: '/nonexistent/ffmpeg' });
      expect(r.out).toContain('model mistral:7b (fallback: llama3.1:8b is missing)');
    } finally {
      await other.close();
    }
  });

  it('a missing source file, exit 2', async () => {
    const r = await expectNoWork(base, ['run', path.join(dir, 'nope.wav')]);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`FAIL  sources: not found: ${path.join(dir, 'nope.wav')}`);
  });

  it('every failure is listed in one run, not one per attempt', async () => {
    const port = await closedPort();
    const r = await expectNoWork({
      ...base,
      FFMPEG_PATH: '/nonexistent/ffmpeg',
      WHISPER_CLI: '/nonexistent/whisper-cli',
      OLLAMA_HOST: `http://127.0.0.1:${port}`,
    });
    expect(r.code).toBe(2); // something the user must fix outranks "try again later"
    expect(r.out.match(/^pipeline: FAIL /gm)).toHaveLength(3);
    expect(r.out).toContain('pipeline: 3 precondition(s) failed; nothing was done');
  });

  it('bad arguments: one line naming the problem, exit 2', async () => {
    for (const [args, msg] of [
      [['run'], 'no sources'],
      [['run', SAMPLE, '--from', 'nope'], '--from "nope": expected one of ingest, transcribe'],
      [['run', '--only', 'classify'], '--only classify without sources needs --run-id'],
      [['walk'], 'unknown command "walk"'],
    ] as const) {
      const r = await runRunner([...args], base);
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain(msg);
    }
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
