// All benchmarks in one run: pnpm --filter @pronielts/bench bench
import { benchExport } from './export.ts';
import { benchIngest } from './ingest.ts';
import { benchLlm } from './llm.ts';
import { benchTranscribe } from './transcribe.ts';

await benchIngest();
await benchTranscribe();
await benchLlm();
await benchExport();
