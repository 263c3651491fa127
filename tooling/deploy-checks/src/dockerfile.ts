import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './catalog.ts';

/** The stage packages that ship an image, and their image repositories (dags/stage_catalog.json). */
export const STAGE_IMAGES: Record<string, string> = {
  ingestor: 'pronielts/ingestor',
  transcriber: 'pronielts/transcriber',
  classifier: 'pronielts/classifier',
  paraphraser: 'pronielts/paraphraser',
  exporter: 'pronielts/exporter',
};

export const dockerfilePath = (pkg: string) => path.join(REPO_ROOT, 'packages', pkg, 'Dockerfile');
export const readDockerfile = (pkg: string) => fs.readFileSync(dockerfilePath(pkg), 'utf8');

/** Instructions with continuation lines joined and comments dropped. */
export function instructions(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** The JSON-array ENTRYPOINT of every final stage (`FROM ... AS <target>`), by target name. */
export function entrypoints(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let target = '';
  for (const ins of instructions(text)) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(ins);
    if (from) target = from[1] ?? '';
    const ep = /^ENTRYPOINT\s+(\[.*\])$/i.exec(ins);
    if (ep?.[1]) out.set(target, JSON.parse(ep[1]) as string[]);
  }
  return out;
}
