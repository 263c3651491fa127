export { EXIT, type ExitCode, StageError, type StageErrorCode } from '../errors.ts';
export { forEachConcurrent } from './concurrent.ts';
export type { OptionSpec, StageContext, StageDefinition, StageResult } from './definition.ts';
export { main, type RunOptions, runStage } from './harness.ts';
export { usage } from './invocation.ts';
