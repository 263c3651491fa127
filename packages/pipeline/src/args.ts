import { parseArgs } from 'node:util';
import { envHelp } from '@pronielts/shared/config';
import { env } from './env.ts';
import { type PipelineStage, STAGE_NAMES } from './stages.ts';

export const USAGE = `Usage: pnpm pipeline run <source…> [options]      (or: pronielts-pipeline run …)

Runs every stage CLI in order on one run id: ingest → transcribe → classify → paraphrase → validate →
export. Sources are local files, http(s) URLs or s3:// keys. Without DATABASE_URL / MINIO_ENDPOINT it
uses the embedded defaults (PGlite and a folder store under PRONIELTS_DATA_DIR).

Options:
  --run-id <id>        the run (default: derived from the sources, so the same command is the same run)
  --from <stage>       start at this stage (resume a run)
  --only <stage>       run only this stage
  --report <file>      where the HTML report goes (default <data dir>/reports/<run id>.html)
  --no-download        never download the whisper model (same as WHISPER_ALLOW_DOWNLOAD=false)
  --plain              plain log lines even on a terminal
  -h, --help           show this help

Stages: ${STAGE_NAMES.join(', ')}

Before any work it checks what the selected stages need: ffmpeg (ingest), whisper-cli and the whisper
model (transcribe; a missing model is downloaded when allowed), Ollama with the model (classify,
paraphrase). Without OLLAMA_HOST and with nothing on 127.0.0.1:11434 it starts the project's own Ollama
(scripts/build-ollama) on a private port for the run: LLM_MODEL or its fallback if that Ollama has or can
pull it, else Gemma 3 270M (scripts/small-llm), a small model for trying the pipeline only. OLLAMA_BIN is
that Ollama's binary (scripts/lib/env.sh sets it).

Environment (passed on to the stages, whose --help lists their own):
${envHelp(env).join('\n')}

Exit codes: 0 done · 2 invalid arguments, configuration or a precondition you must fix ·
            75 a dependency is unavailable (Ollama down, download failed) or interrupted · 1 a bug;
            a failing stage's own exit code otherwise.
`;

export interface RunArgs {
  sources: string[];
  runId?: string;
  from?: PipelineStage;
  only?: PipelineStage;
  report?: string;
  noDownload: boolean;
  plain: boolean;
}

export type ParsedArgs =
  | { kind: 'help' }
  | { kind: 'run'; args: RunArgs }
  | { kind: 'error'; message: string };

function stageArg(flag: string, v: string | undefined): PipelineStage | undefined {
  if (v === undefined) return undefined;
  if (!(STAGE_NAMES as readonly string[]).includes(v)) {
    throw new Error(`--${flag} ${JSON.stringify(v)}: expected one of ${STAGE_NAMES.join(', ')}`);
  }
  return v as PipelineStage;
}

/** `run <sources…> [options]`; every problem is one line naming it. */
export function parseCli(argv: string[]): ParsedArgs {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    return command === undefined ? { kind: 'error', message: 'missing command: run' } : { kind: 'help' };
  }
  if (command !== 'run')
    return { kind: 'error', message: `unknown command ${JSON.stringify(command)}: expected run` };
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        'run-id': { type: 'string' },
        from: { type: 'string' },
        only: { type: 'string' },
        report: { type: 'string' },
        'no-download': { type: 'boolean' },
        plain: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return { kind: 'help' };
    const from = stageArg('from', values.from);
    const only = stageArg('only', values.only);
    if (from && only) throw new Error('--from and --only exclude each other');
    const first = only ?? from ?? 'ingest';
    if (first === 'ingest' && positionals.length === 0) {
      throw new Error(
        'no sources: give at least one media file or URL (e.g. samples/ielts-part1-sample.ogg)',
      );
    }
    if (positionals.length === 0 && !values['run-id']) {
      throw new Error(`--${only ? 'only' : 'from'} ${first} without sources needs --run-id <id>`);
    }
    return {
      kind: 'run',
      args: {
        sources: positionals,
        ...(values['run-id'] ? { runId: values['run-id'] } : {}),
        ...(from ? { from } : {}),
        ...(only ? { only } : {}),
        ...(values.report ? { report: values.report } : {}),
        noDownload: values['no-download'] ?? false,
        plain: values.plain ?? false,
      },
    };
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
}
