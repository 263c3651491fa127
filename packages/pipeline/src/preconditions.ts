import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '@pronielts/shared/errors';
import { probeOllama } from '@pronielts/shared/llm';
import { createLogger } from '@pronielts/shared/log';
import { ensureModel, KNOWN_MODELS, modelFile, resolveWhisperCli } from '@pronielts/transcriber/whisper';
import type { Env } from './env.ts';
import { missingLocalSources } from './run-id.ts';
import type { Need } from './stages.ts';

/**
 * What the selected stages need, checked before any work: every check runs (so one run lists every
 * problem), each failure says what to do, and nothing is written until all pass. The whisper model is
 * the one thing fixed here rather than reported: when it is missing and downloads are allowed it is
 * fetched (with progress) after every other check passed.
 */

export interface Check {
  name: string;
  ok: boolean;
  /** What was found, or what is wrong. */
  detail: string;
  /** What to do about it (failures only). */
  fix?: string;
  /** 2: the user must change something; 75: a dependency is down (try again later). */
  exitCode?: 2 | 75;
}

export interface Preconditions {
  checks: Check[];
  /** Env the stages get because of what was found (WHISPER_CLI from the tools cache). */
  env: Record<string, string>;
  /** Set when the model is missing and will be downloaded. */
  download?: { model: string; file: string };
  ollamaModel?: string;
}

export const failed = (p: Preconditions) => p.checks.filter((c) => !c.ok);
export function exitCodeOf(p: Preconditions): 0 | 2 | 75 {
  const bad = failed(p);
  if (bad.length === 0) return EXIT.ok;
  return bad.some((c) => c.exitCode !== EXIT.unavailable) ? EXIT.invalidInput : EXIT.unavailable;
}

function runs(bin: string): boolean {
  const r = spawnSync(bin, ['-version'], { stdio: 'ignore', timeout: 15_000 });
  return r.status === 0;
}

function checkFfmpeg(env: Env): Check[] {
  return (
    [
      ['ffmpeg', env.FFMPEG_PATH, 'FFMPEG_PATH'],
      ['ffprobe', env.FFPROBE_PATH, 'FFPROBE_PATH'],
    ] as const
  ).map(([tool, configured, variable]) => {
    const bin = configured ?? tool;
    return runs(bin)
      ? { name: tool, ok: true, detail: bin }
      : {
          name: tool,
          ok: false,
          detail: configured ? `${variable}=${configured} does not run` : `${tool} is not on PATH`,
          fix: `install it (Debian: apt-get install ffmpeg; scripts/setup does) or set ${variable}`,
          exitCode: EXIT.invalidInput,
        };
  });
}

/** whisper-cli: WHISPER_CLI, PATH, nodejs-whisper's build, else the cache scripts/build-whisper fills. */
function findWhisperCli(env: Env): { path?: string; check: Check } {
  const fix = 'build it with scripts/build-whisper (scripts/setup does) or set WHISPER_CLI to whisper-cli';
  try {
    const p = resolveWhisperCli(env.WHISPER_CLI);
    return { path: p, check: { name: 'whisper-cli', ok: true, detail: p } };
  } catch (err) {
    if (env.WHISPER_CLI) {
      return {
        check: {
          name: 'whisper-cli',
          ok: false,
          detail: (err as Error).message,
          fix,
          exitCode: EXIT.invalidInput,
        },
      };
    }
  }
  const cached = fs.existsSync(env.PRONIELTS_TOOLS)
    ? fs
        .readdirSync(env.PRONIELTS_TOOLS)
        .filter((d) => /^whisper\.cpp-[\d.]+-(cpu|cuda)$/.test(d))
        .sort()
        .reverse()
        .map((d) => path.join(env.PRONIELTS_TOOLS, d, 'bin', 'whisper-cli'))
        .find((f) => {
          try {
            fs.accessSync(f, fs.constants.X_OK);
            return true;
          } catch {
            return false;
          }
        })
    : undefined;
  if (cached) return { path: cached, check: { name: 'whisper-cli', ok: true, detail: cached } };
  return {
    check: {
      name: 'whisper-cli',
      ok: false,
      detail: `whisper-cli not found (WHISPER_CLI unset, not on PATH, not in ${env.PRONIELTS_TOOLS})`,
      fix,
      exitCode: EXIT.invalidInput,
    },
  };
}

function checkModel(
  env: Env,
  allowDownload: boolean,
): { check: Check; download?: Preconditions['download'] } {
  const file = modelFile(env.WHISPER_MODEL_DIR, env.WHISPER_MODEL);
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st?.isFile() && st.size > 0) {
    return {
      check: { name: 'whisper model', ok: true, detail: `${file} (${(st.size / 1048576).toFixed(0)} MB)` },
    };
  }
  const name = `ggml-${env.WHISPER_MODEL}.bin`;
  if (!KNOWN_MODELS.includes(env.WHISPER_MODEL)) {
    return {
      check: {
        name: 'whisper model',
        ok: false,
        detail: `${file} does not exist, and "${env.WHISPER_MODEL}" is not a model that can be downloaded`,
        fix: `put ${name} into ${env.WHISPER_MODEL_DIR}, or set WHISPER_MODEL to one of ${KNOWN_MODELS.join(', ')}`,
        exitCode: EXIT.invalidInput,
      },
    };
  }
  if (!allowDownload) {
    return {
      check: {
        name: 'whisper model',
        ok: false,
        detail: `${file} does not exist and downloads are off (--no-download or WHISPER_ALLOW_DOWNLOAD=false)`,
        fix: `copy ${name} into ${env.WHISPER_MODEL_DIR} (or set WHISPER_MODEL_DIR), or allow the download on a machine with network`,
        exitCode: EXIT.invalidInput,
      },
    };
  }
  return {
    check: { name: 'whisper model', ok: true, detail: `${file} missing: will download ${name}` },
    download: { model: env.WHISPER_MODEL, file },
  };
}

async function checkOllama(env: Env): Promise<{ check: Check; model?: string }> {
  try {
    const p = await probeOllama(
      { host: env.OLLAMA_HOST, primary: env.LLM_MODEL, fallback: env.LLM_FALLBACK_MODEL },
      { timeoutMs: 10_000 },
    );
    return {
      model: p.model,
      check: {
        name: 'ollama',
        ok: true,
        detail: `${env.OLLAMA_HOST} (Ollama ${p.serverVersion}), model ${p.model}${p.usedFallback ? ` (fallback: ${env.LLM_MODEL} is missing)` : ''}`,
      },
    };
  } catch (err) {
    const message = (err as Error).message;
    const noModel = /neither .* nor .* is available/.test(message);
    return {
      check: {
        name: 'ollama',
        ok: false,
        detail: message,
        fix: noModel
          ? `pull the model: ollama pull ${env.LLM_MODEL} (or set LLM_MODEL to a model the server has)`
          : `start Ollama (ollama serve) and pull the model (ollama pull ${env.LLM_MODEL}), or set OLLAMA_HOST to a running server`,
        exitCode: noModel ? EXIT.invalidInput : EXIT.unavailable,
      },
    };
  }
}

export async function checkPreconditions(
  env: Env,
  needs: ReadonlySet<Need>,
  opts: { sources: readonly string[]; allowDownload: boolean },
): Promise<Preconditions> {
  const out: Preconditions = { checks: [], env: {} };
  if (needs.has('sources')) {
    const missing = missingLocalSources(opts.sources);
    out.checks.push(
      missing.length === 0
        ? { name: 'sources', ok: true, detail: `${opts.sources.length} source(s)` }
        : {
            name: 'sources',
            ok: false,
            detail: `not found: ${missing.join(', ')}`,
            fix: 'check the paths (relative paths are relative to the folder you ran the command in)',
            exitCode: EXIT.invalidInput,
          },
    );
  }
  if (needs.has('ffmpeg')) out.checks.push(...checkFfmpeg(env));
  if (needs.has('whisper')) {
    const cli = findWhisperCli(env);
    out.checks.push(cli.check);
    if (cli.path && !env.WHISPER_CLI) out.env.WHISPER_CLI = cli.path;
    const m = checkModel(env, opts.allowDownload);
    out.checks.push(m.check);
    if (m.download) out.download = m.download;
  }
  if (needs.has('ollama')) {
    const o = await checkOllama(env);
    out.checks.push(o.check);
    if (o.model) out.ollamaModel = o.model;
  }
  return out;
}

/** Downloads the missing model with the transcriber's own code (temp file, size check, rename). */
export async function downloadModel(
  env: Env,
  onProgress: (got: number, total: number) => void,
  signal?: AbortSignal,
): Promise<Check> {
  const started = Date.now();
  try {
    const file = await ensureModel({
      dir: env.WHISPER_MODEL_DIR,
      model: env.WHISPER_MODEL,
      allowDownload: true,
      downloadBase: env.WHISPER_DOWNLOAD_BASE,
      log: createLogger({ level: 'silent' }),
      onProgress,
      ...(signal ? { signal } : {}),
    });
    const mb = (fs.statSync(file).size / 1048576).toFixed(1);
    return {
      name: 'whisper model',
      ok: true,
      detail: `downloaded ${file} (${mb} MB, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    };
  } catch (err) {
    return {
      name: 'whisper model',
      ok: false,
      detail: (err as Error).message,
      fix: `check the network (or WHISPER_DOWNLOAD_BASE), or copy ggml-${env.WHISPER_MODEL}.bin into ${env.WHISPER_MODEL_DIR} yourself`,
      exitCode: EXIT.unavailable,
    };
  }
}
