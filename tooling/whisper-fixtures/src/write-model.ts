import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type GenerateOptions, generateTinyWhisperModel } from './generate-model.ts';

/**
 * Writes the tiny model to `path` atomically: a temp file in the same directory, then one rename, so a
 * reader never sees a half-written model. Creates the parent directory. Returns the absolute path.
 */
export async function writeTinyWhisperModel(path: string, opts: GenerateOptions = {}): Promise<string> {
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, generateTinyWhisperModel(opts));
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return target;
}
