import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type RunId, toRunId } from '@pronielts/shared/contracts';

export const isUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** A local path made absolute against the folder the user typed the command in; URLs as they are. */
export function resolveSource(source: string, cwd: string): string {
  return isUrl(source) ? source : path.resolve(cwd, source);
}

/**
 * The default run id: a hash of the resolved sources, so typing the same command twice is the same run
 * (and the second does nothing), while other sources are another run.
 */
export function runIdFor(sources: readonly string[], explicit?: string): RunId {
  if (explicit) return toRunId(explicit);
  const key = [...new Set(sources)].sort().join('\n');
  return toRunId(`local-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`);
}

/** Folders the ingestor may read the given local files from (it refuses others). */
export function localRootsFor(sources: readonly string[]): string[] {
  return [...new Set(sources.filter((s) => !isUrl(s)).map((s) => path.dirname(s)))];
}

export function missingLocalSources(sources: readonly string[]): string[] {
  return sources.filter((s) => !isUrl(s) && !fs.existsSync(s));
}
