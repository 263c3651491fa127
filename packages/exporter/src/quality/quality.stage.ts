import { parseInput, RunId } from '@pronielts/shared/contracts';
import type { StageDefinition } from '@pronielts/shared/stage';
import { z } from 'zod';
import { type QualityEnv, qualityEnv } from './quality.env.ts';
import { qualityCheck } from './quality.ts';

const QualityInput = z.object({ runId: RunId });

export const qualityStage: StageDefinition<z.output<typeof QualityInput>, QualityEnv> = {
  name: 'quality',
  bin: 'pronielts-exporter quality-check',
  description:
    'Data-quality checks over the automation DB: completeness (media stuck without a transcript), freshness ' +
    '(age of the newest release), anomalies (rejection-rate spikes) and attempts (stages recorded as running whose ' +
    'process is gone). Exit 3 with one line per failed check.',
  options: {},
  env: qualityEnv,
  input: ({ runId }) => parseInput(QualityInput, { runId }),
  run: (ctx) => qualityCheck(ctx),
};
