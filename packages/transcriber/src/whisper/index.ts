export { modelFile, resolveWhisperCli } from './model.ts';
export { runWhisperCli, whisperArgs } from './whisper-cli.ts';
