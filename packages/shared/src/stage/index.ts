export { EXIT, type ExitCode, StageError, type StageErrorCode } from '../errors.ts';
export { forEachConcurrent } from './concurrent.ts';
export {
  main,
  type OptionSpec,
  type RunOptions,
  runStage,
  type StageContext,
  type StageDefinition,
  type StageResult,
  usage,
} from './harness.ts';
