export { fluentFfmpegTool, NORMALIZE_OUTPUT_ARGS } from './fluent-ffmpeg-tool.ts';
export type { MediaTool, NormalizeResult, ProbeResult } from './media-tool.ts';
