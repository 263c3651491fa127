import type { z } from 'zod';
import type { SharedEnv } from '../config/index.ts';
import type { RunId, StageName, StageSummary } from '../contracts/index.ts';
import type { Db } from '../db/index.ts';
import type { Logger } from '../log/index.ts';
import type { ObjectStore } from '../storage/index.ts';

/** What a stage tells the harness about itself; its CLI is `main(definition)`. */

export type OptionSpec = {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  description: string;
  /** Placeholder in --help, e.g. <uri>. */
  arg?: string;
};

export interface StageContext<I, E> {
  stage: StageName;
  runId: RunId;
  attempt: number;
  input: I;
  env: E;
  log: Logger;
  db: Db;
  store: ObjectStore;
  /** Aborted on SIGTERM/SIGINT: check it between items and return early. */
  signal: AbortSignal;
}

export interface StageResult {
  counts: StageSummary['counts'];
  rejections?: Record<string, number>;
  /** Stage-specific summary fields (media ids, release id...). */
  extra?: Record<string, unknown>;
}

export interface StageDefinition<I, E extends SharedEnv> {
  name: StageName;
  /** The binary name in --help. */
  bin: string;
  description: string;
  options: Record<string, OptionSpec>;
  env: z.ZodType<E>;
  /** Builds the validated input from parsed argv (run id already normalised). */
  input: (args: { runId: RunId; values: Record<string, unknown>; positionals: string[] }) => I;
  run: (ctx: StageContext<I, E>) => Promise<StageResult>;
}
