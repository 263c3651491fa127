export { type EnsureModelOptions, ensureModel, KNOWN_MODELS, modelFile, resolveWhisperCli } from './model.ts';
export { runWhisperCli, whisperArgs } from './whisper-cli.ts';
