import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@pronielts/shared/log';
import { StageError } from '@pronielts/shared/stage';

const require = createRequire(import.meta.url);
/** nodejs-whisper's model table (name → ggml file) and the whisper.cpp it ships. */
const constants = require('nodejs-whisper/dist/constants.js') as {
  MODEL_OBJECT: Record<string, string>;
  WHISPER_CPP_PATH: string;
};

export const KNOWN_MODELS = Object.keys(constants.MODEL_OBJECT);

export function modelFile(dir: string, model: string): string {
  return path.join(dir, `ggml-${model}.bin`);
}

/**
 * The whisper-cli binary: WHISPER_CLI, else `whisper-cli` on PATH (the image installs it there), else
 * the build inside nodejs-whisper's package. Never builds anything at run time.
 */
export function resolveWhisperCli(configured: string | undefined): string {
  const candidates = configured
    ? [configured]
    : [
        ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'whisper-cli')),
        path.join(constants.WHISPER_CPP_PATH, 'build', 'bin', 'whisper-cli'),
      ];
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new StageError(
    'config_invalid',
    configured
      ? `WHISPER_CLI=${configured} is not an executable file`
      : 'whisper-cli not found: set WHISPER_CLI, put whisper-cli on PATH, or build it with scripts/build-whisper',
  );
}

export interface EnsureModelOptions {
  dir: string;
  model: string;
  allowDownload: boolean;
  downloadBase: string;
  log: Logger;
  signal?: AbortSignal;
  /** Called as bytes arrive (total is 0 when the server sends no length): the runner's progress bar. */
  onProgress?: (got: number, total: number) => void;
}

/**
 * The path of the model file. A missing model is a clear error naming the model and the path; with
 * downloads allowed (never the default) it is fetched once, streamed to a temp file and renamed into
 * place, with progress in the log. No network is touched when downloads are disabled.
 */
export async function ensureModel(o: EnsureModelOptions): Promise<string> {
  const file = modelFile(o.dir, o.model);
  const st = await fsp.stat(file).catch(() => null);
  if (st?.isFile() && st.size > 0) return file;
  if (!o.allowDownload) {
    throw new StageError(
      'config_invalid',
      `whisper model "${o.model}" not found at ${file} and downloads are disabled (WHISPER_ALLOW_DOWNLOAD=false): ` +
        'fill the whisper-model-cache volume or allow the download',
    );
  }
  if (!KNOWN_MODELS.includes(o.model)) {
    throw new StageError(
      'config_invalid',
      `whisper model "${o.model}" not found at ${file}, and it is not a downloadable model (${KNOWN_MODELS.join(', ')})`,
    );
  }
  const url = `${o.downloadBase.replace(/\/$/, '')}/${constants.MODEL_OBJECT[o.model]}`;
  await fsp.mkdir(o.dir, { recursive: true });
  const tmp = `${file}.${process.pid}.part`;
  o.log.info({ model: o.model, url, file }, 'downloading whisper model');
  try {
    const res = await fetch(url, { ...(o.signal ? { signal: o.signal } : {}) });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    const total = Number(res.headers.get('content-length')) || 0;
    let got = 0;
    let nextReport = 0.1;
    const body = Readable.fromWeb(res.body as never);
    body.on('data', (c: Buffer) => {
      got += c.length;
      o.onProgress?.(got, total);
      if (total && got / total >= nextReport) {
        o.log.info({ model: o.model, percent: Math.floor((got / total) * 100) }, 'downloading whisper model');
        nextReport += 0.1;
      }
    });
    await pipeline(body, fs.createWriteStream(tmp, { flags: 'wx' }));
    if (total && got !== total) throw new Error(`got ${got} of ${total} bytes`);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    if (o.signal?.aborted) throw err;
    throw new StageError(
      'dependency_unavailable',
      `downloading whisper model "${o.model}" from ${url} failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  o.log.info({ model: o.model, file }, 'whisper model ready');
  return file;
}
