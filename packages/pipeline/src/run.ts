import fs from 'node:fs';
import path from 'node:path';
import { dbConfigFrom, storageConfigFrom } from '@pronielts/shared/config';
import { openDb } from '@pronielts/shared/db';
import { EXIT } from '@pronielts/shared/errors';
import { createObjectStore } from '@pronielts/shared/storage';
import type { RunArgs } from './args.ts';
import {
  type EmbeddedOllama,
  ollamaAnswers,
  SMALL_MODEL_DIR,
  SMALL_MODEL_NOTE,
  startEmbeddedOllama,
} from './embedded-ollama.ts';
import { type Env, parseRunnerEnv } from './env.ts';
import { didWork, executeStage, type StageOutcome } from './execute.ts';
import { checkPreconditions, downloadModel, exitCodeOf, failed } from './preconditions.ts';
import { outcomeText } from './progress/format.ts';
import { plainView } from './progress/plain.ts';
import { ttyView } from './progress/tty.ts';
import type { View } from './progress/view.ts';
import { collectReport } from './report/collect.ts';
import { renderHtml } from './report/html.ts';
import { renderTable } from './report/table.ts';
import { localRootsFor, resolveSource, runIdFor } from './run-id.ts';
import { binOf, type Need, selectStages } from './stages.ts';

export interface RunnerOptions {
  rawEnv?: NodeJS.ProcessEnv;
  view?: View;
  signal?: AbortSignal;
}

/**
 * One pipeline run: arguments and env → preconditions (nothing written until all pass) → the model
 * download if needed → [migrate, when DATABASE_URL is set] → each selected stage CLI in order, stopping
 * at the first that fails → summary table and HTML report. Returns the exit code.
 */
export async function runPipeline(args: RunArgs, opts: RunnerOptions = {}): Promise<number> {
  const llm: { embedded?: EmbeddedOllama } = {};
  try {
    return await run(args, opts, llm);
  } finally {
    await llm.embedded?.stop();
  }
}

async function run(args: RunArgs, opts: RunnerOptions, llm: { embedded?: EmbeddedOllama }): Promise<number> {
  const rawEnv = opts.rawEnv ?? process.env;
  // Live bars only on a real terminal with room for them; CI logs and pipes get plain lines.
  const useTty =
    !args.plain && Boolean(process.stdout.isTTY) && (process.stdout.columns ?? 0) >= 60 && !rawEnv.CI;
  const view = opts.view ?? (useTty ? ttyView() : plainView());
  const started = Date.now();

  let env: Env;
  try {
    env = parseRunnerEnv(rawEnv);
  } catch (err) {
    view.print(`pipeline: ${(err as Error).message}`);
    return EXIT.invalidInput;
  }
  const cwd = env.INIT_CWD ?? process.cwd();
  const sources = args.sources.map((s) => resolveSource(s, cwd));
  let runId: string;
  try {
    runId = runIdFor(sources, args.runId);
  } catch (err) {
    view.print(`pipeline: --run-id ${JSON.stringify(args.runId)}: ${(err as Error).message}`);
    return EXIT.invalidInput;
  }
  const stages = selectStages(args);
  const dataDir = path.resolve(process.cwd(), env.PRONIELTS_DATA_DIR);
  const runDir = path.join(dataDir, 'runs', runId);
  view.print(
    `pipeline: run ${runId} · stages ${stages.map((s) => s.name).join(' → ')} · database ${
      env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${path.join(dataDir, 'db')}`
    } · objects ${env.MINIO_ENDPOINT ? `S3 at ${env.MINIO_ENDPOINT}` : `folder ${path.join(dataDir, 'objects')}`}`,
  );

  // --- the LLM: the configured Ollama, else the project's own for this run -----------------------
  const needs = new Set<Need>(stages.flatMap((s) => s.needs));
  let llmNote: string | null = null;
  if (needs.has('ollama') && !rawEnv.OLLAMA_HOST && !(await ollamaAnswers(env.OLLAMA_HOST))) {
    try {
      const o = await startEmbeddedOllama({
        bin: rawEnv.OLLAMA_BIN ?? 'ollama',
        stateDir: path.join(dataDir, 'ollama'),
        smallModelDir: path.join(env.PRONIELTS_TOOLS, SMALL_MODEL_DIR),
        primary: env.LLM_MODEL,
        fallback: env.LLM_FALLBACK_MODEL,
      });
      llm.embedded = o;
      env = { ...env, OLLAMA_HOST: o.host, LLM_MODEL: o.model };
      llmNote = o.small ? SMALL_MODEL_NOTE : null;
      view.print(
        `pipeline: LLM: no Ollama configured or running; the project's Ollama serves ${o.model} at ${o.host} for this run${o.small ? `\npipeline: note: ${SMALL_MODEL_NOTE}` : ''}`,
      );
    } catch (err) {
      view.print(`pipeline: the project's Ollama could not serve this run: ${(err as Error).message}`);
    }
  }

  // --- preconditions: check everything, write nothing -------------------------------------------
  const pre = await checkPreconditions(env, needs, {
    sources,
    allowDownload: env.WHISPER_ALLOW_DOWNLOAD && !args.noDownload,
  });
  view.checks(pre.checks);
  if (failed(pre).length > 0) {
    view.print(`pipeline: ${failed(pre).length} precondition(s) failed; nothing was done`);
    return exitCodeOf(pre);
  }
  if (pre.download) {
    const got = await view.download(`downloading whisper model ggml-${pre.download.model}.bin`, (tick) =>
      downloadModel(env, tick, opts.signal),
    );
    if (!got.ok) {
      view.print('pipeline: the whisper model could not be downloaded; nothing else was done');
      return EXIT.unavailable;
    }
  }

  // --- the stages -----------------------------------------------------------------------------------
  const childEnv: NodeJS.ProcessEnv = {
    ...rawEnv,
    ...pre.env,
    PRONIELTS_DATA_DIR: dataDir,
    WHISPER_MODEL: env.WHISPER_MODEL,
    WHISPER_MODEL_DIR: env.WHISPER_MODEL_DIR,
    // The model is in place now; the transcriber never downloads behind the runner's back.
    WHISPER_ALLOW_DOWNLOAD: 'false',
    INGEST_LOCAL_ROOTS: env.INGEST_LOCAL_ROOTS ?? [...localRootsFor(sources), '/data', cwd].join(':'),
    ...(llm.embedded
      ? {
          OLLAMA_HOST: env.OLLAMA_HOST,
          LLM_MODEL: env.LLM_MODEL,
          LLM_CONCURRENCY: rawEnv.LLM_CONCURRENCY ?? '1',
        }
      : {}),
  };
  const outcomes: StageOutcome[] = [];
  let failure: string | null = null;
  let exitCode: number = EXIT.ok;
  const steps = [
    ...(env.DATABASE_URL
      ? [
          {
            spec: { name: 'migrate', phase: 'migrate' },
            pkg: '@pronielts/exporter',
            args: ['latest'],
          },
        ]
      : []),
    ...stages.map((s) => ({
      spec: s,
      pkg: s.pkg,
      args: ['--run-id', runId, ...(s.name === 'ingest' ? sources.flatMap((src) => ['--source', src]) : [])],
    })),
  ];
  for (const step of steps) {
    if (opts.signal?.aborted) break;
    const outcome = await view.stage(step.spec.name, (progress) =>
      executeStage({
        spec: step.spec,
        bin: binOf(step.pkg),
        args: step.args,
        env: childEnv,
        cwd: process.cwd(),
        runDir,
        onProgress: progress,
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
    );
    if (step.spec.name !== 'migrate') outcomes.push(outcome);
    if (outcome.exitCode !== 0) {
      failure = outcomeText(outcome);
      exitCode = outcome.exitCode;
      view.print(`pipeline: ${failure}\npipeline: full log: ${outcome.logFile}`);
      break;
    }
  }
  if (opts.signal?.aborted && exitCode === EXIT.ok) {
    exitCode = EXIT.unavailable;
    failure = 'interrupted';
  }

  // --- report ---------------------------------------------------------------------------------------
  const reportEnv = parseRunnerEnv({ ...rawEnv, PRONIELTS_DATA_DIR: dataDir });
  const db = await openDb(dbConfigFrom(reportEnv), { applicationName: 'pronielts-pipeline' }).catch(
    () => null,
  );
  const store = createObjectStore(storageConfigFrom(reportEnv));
  try {
    if (!db) throw new Error('the database cannot be opened');
    const data = await collectReport(db, store, {
      runId,
      outcomes,
      totalMs: Date.now() - started,
      dbKind: env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite',
      failure,
      ...(needs.has('ollama') ? { llm: { model: env.LLM_MODEL, host: env.OLLAMA_HOST, note: llmNote } } : {}),
    });
    view.print(`\n${renderTable(data)}`);
    const file = path.resolve(cwd, args.report ?? path.join(dataDir, 'reports', `${runId}.html`));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, renderHtml(data));
    fs.writeFileSync(`${file.replace(/\.html?$/, '')}.json`, `${JSON.stringify(data, null, 2)}\n`);
    view.print(`report: ${file}`);
  } catch (err) {
    view.print(`pipeline: no report: ${(err as Error).message}`);
  } finally {
    await Promise.allSettled([db?.destroy(), store.close()]);
  }
  if (exitCode === EXIT.ok) {
    view.print(
      outcomes.every((o) => !didWork(o.summary))
        ? `pipeline: nothing to do: run ${runId} was already complete; every stage found its work done (${((Date.now() - started) / 1000).toFixed(1)} s)`
        : `pipeline: run ${runId} done in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  return exitCode;
}
