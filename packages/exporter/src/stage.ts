import { BoolEnv } from '@pronielts/shared/config';
import { ExportInput, parseInput, ValidateInput } from '@pronielts/shared/contracts';
import { type StageDefinition, StageError } from '@pronielts/shared/stage';
import type { z } from 'zod';
import { type Env, env } from './env.ts';

export const validateStage: StageDefinition<z.output<typeof ValidateInput>, Env> = {
  name: 'validate',
  bin: 'pronielts-exporter validate',
  description:
    'Runs the quality rules over every generated and classified item of a run; each ends approved or rejected with reasons.',
  options: {},
  env,
  input: ({ runId }) => parseInput(ValidateInput, { runId }),
  run: async () => {
    throw new StageError('not_implemented', 'the validate phase is not implemented yet');
  },
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
  run: async () => {
    throw new StageError('not_implemented', 'the export phase is not implemented yet');
  },
};

export const PHASES = { validate: validateStage, export: exportStage } as const;
