import { BoolEnv } from '@pronielts/shared/config';
import { ExportInput, parseInput, ValidateInput } from '@pronielts/shared/contracts';
import type { StageDefinition } from '@pronielts/shared/stage';
import type { z } from 'zod';
import { type Env, env } from './env.ts';
import { exportRelease } from './export/export.ts';
import { qualityStage } from './quality/quality.stage.ts';

export const validateStage: StageDefinition<z.output<typeof ValidateInput>, Env> = {
  name: 'validate',
  bin: 'pronielts-exporter validate',
  description:
    'Runs the quality gate over every generated and classified item of a run; each ends approved, rejected or needs_review, with reasons.',
  options: {},
  env,
  input: ({ runId }) => parseInput(ValidateInput, { runId }),
  // Loaded when this phase runs: the rules bring language and name detection, which add to start-up
  // and which the export phase does not need.
  run: async (ctx) => (await import('./validate/validate.ts')).validate(ctx),
};

export const exportStage: StageDefinition<z.output<typeof ExportInput>, Env> = {
  name: 'export',
  bin: 'pronielts-exporter export',
  description:
    'Publishes the approved items of a run as a versioned release: JSONL + manifest in pronielts-processed and content tables in PostgreSQL.',
  options: {
    release: {
      type: 'string',
      description: 'publish a release: true (default) or false for a dry run',
      arg: '<bool>',
    },
  },
  env,
  input: ({ runId, values }) =>
    parseInput(ExportInput, {
      runId,
      release: values.release === undefined ? true : BoolEnv.parse(String(values.release)),
    }),
  run: (ctx) => exportRelease(ctx),
};

export const PHASES = {
  validate: validateStage,
  export: exportStage,
  'quality-check': qualityStage,
} as const;
