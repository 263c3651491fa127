export { parseCli, type RunArgs, USAGE } from './args.ts';
export type { ReportData } from './report/data.ts';
export { renderHtml } from './report/html.ts';
export { renderTable } from './report/table.ts';
export { runPipeline } from './run.ts';
export { STAGE_NAMES, STAGES, selectStages } from './stages.ts';
