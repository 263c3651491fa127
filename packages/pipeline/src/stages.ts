import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The pipeline's stages in data-flow order, each the stage CLI a pod runs (its package's `bin`), plus
 * the preconditions it depends on. Progress comes from the stages' typed progress records (shared's
 * `ProgressRecord`); counts in the report come from the DB and the summaries.
 */

export const STAGE_NAMES = ['ingest', 'transcribe', 'classify', 'paraphrase', 'validate', 'export'] as const;
export type PipelineStage = (typeof STAGE_NAMES)[number];

export type Need = 'ffmpeg' | 'whisper' | 'ollama' | 'sources';

export interface StageSpec {
  name: PipelineStage;
  /** The workspace package whose `bin` is the stage's CLI. */
  pkg: string;
  /** A phase argument before the options (the exporter's validate / export). */
  phase?: string;
  needs: Need[];
}

export const STAGES: readonly StageSpec[] = [
  { name: 'ingest', pkg: '@pronielts/ingestor', needs: ['ffmpeg', 'sources'] },
  { name: 'transcribe', pkg: '@pronielts/transcriber', needs: ['whisper'] },
  { name: 'classify', pkg: '@pronielts/classifier', needs: ['ollama'] },
  { name: 'paraphrase', pkg: '@pronielts/paraphraser', needs: ['ollama'] },
  { name: 'validate', pkg: '@pronielts/exporter', phase: 'validate', needs: [] },
  { name: 'export', pkg: '@pronielts/exporter', phase: 'export', needs: [] },
];

/** The stages `--from` / `--only` select, in order. */
export function selectStages(opts: { from?: PipelineStage; only?: PipelineStage }): StageSpec[] {
  if (opts.only) return STAGES.filter((s) => s.name === opts.only);
  const i = opts.from ? STAGES.findIndex((s) => s.name === opts.from) : 0;
  return STAGES.slice(i);
}

const require = createRequire(import.meta.url);

/**
 * The CLI file of a workspace package, from its package.json `bin`: the same file the stage image runs
 * (`node dist/bundle/cli.js`, decision 0014), so a local run tests the real entrypoint.
 */
export function binOf(pkg: string): string {
  let dir = path.dirname(require.resolve(pkg));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${require.resolve(pkg)}`);
    dir = up;
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    bin?: Record<string, string>;
  };
  const rel = Object.values(manifest.bin ?? {})[0];
  if (!rel) throw new Error(`${pkg} declares no bin`);
  return path.join(dir, rel);
}
