import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Ollama } from 'ollama';
import pLimit from 'p-limit';
import type { z } from 'zod';
import type { Database } from '../contracts/rows.ts';
import { isConnectionError, StageError } from '../errors.ts';
import type { Logger } from '../log/index.ts';
import { jsonSchemaOf, schemaInstructions } from './prompt.ts';

/**
 * The LLM layer: Ollama structured outputs through the `ollama` client.
 *  - the zod schema is converted to JSON Schema, sent as `format` and shown in the prompt; the answer is
 *    parsed and checked with the same zod schema;
 *  - answers stream: a server silent for `stallTimeoutMs` has stalled when tokens were flowing, or,
 *    before the first byte (which may be a wait for a slot), when it does not answer a trivial request
 *    either; the stage then fails with exit 75 at once, without retries;
 *  - an answer cut off at `num_predict` (done_reason "length") is invalid, never truncated data;
 *  - an answer longer than `num_predict` tokens can be is a protocol violation: reading stops there, and
 *    it is rejected as `oversized` without a repair turn;
 *  - an invalid answer gets one repair turn, which shows the model a bounded excerpt of its answer and
 *    what was wrong; still invalid → a rejection with the raw output, never a throw;
 *  - results are cached in the DB by sha256(model, prompt version, input): re-runs make zero calls;
 *  - at most LLM_CONCURRENCY requests are in flight; 5xx, timeouts and connection errors are retried
 *    with exponential backoff; when retries run out the stage fails with exit 75 naming the host.
 */

export interface LlmConfig {
  host: string;
  primary: string;
  fallback: string;
  concurrency: number;
  /** Longest a request may take, queueing and generation included. */
  timeoutMs: number;
  /** Longest silence from the server (before its first byte or between chunks) before it counts as stalled. */
  stallTimeoutMs: number;
  retries: number;
  /** Base backoff; doubles each retry (with jitter). */
  backoffMs?: number;
}

export interface StructuredRequest<S extends z.ZodType> {
  task: string;
  promptVersion: string;
  system: string;
  user: string;
  /** Everything the answer depends on besides model and prompt version: the cache key's input. */
  cacheInput: unknown;
  schema: S;
  temperature: number;
  numPredict: number;
}

export type StructuredResult<T> =
  | { ok: true; value: T; model: string; cached: boolean; attempts: number; raw: string }
  | {
      ok: false;
      reason: RejectReason;
      detail: string;
      raw: string;
      model: string;
      attempts: number;
    };

export interface Llm {
  /** The model that answers (the primary, or the fallback when the primary is missing). */
  readonly model: string;
  readonly host: string;
  readonly serverVersion: string;
  structured<S extends z.ZodType>(
    req: StructuredRequest<S>,
    signal?: AbortSignal,
  ): Promise<StructuredResult<z.output<S>>>;
  /** Calls actually sent to Ollama (cache hits excluded), for summaries and tests. */
  stats(): { calls: number; cacheHits: number; repairs: number; retries: number };
}

type RejectReason = 'invalid_json' | 'schema_violation' | 'truncated' | 'oversized';
type ChatAnswer = { content: string; done: boolean; doneReason: string; evalCount?: number };

/**
 * The most characters one token can decode to, as a bound for answers: the longest tokens of common
 * vocabularies (runs of spaces or of one punctuation mark) are well under this.
 */
const MAX_CHARS_PER_TOKEN = 64;
/** Characters of an invalid answer shown back to the model in the repair turn, from each end. */
const REPAIR_ECHO_CHARS = 400;

/** Whether the server answers a trivial request in time (a busy Ollama does; a hung one does not). */
async function alive(host: string, timeoutMs: number): Promise<boolean> {
  try {
    return (await fetch(`${host}/api/version`, { signal: AbortSignal.timeout(timeoutMs) })).ok;
  } catch {
    return false;
  }
}

/** The answer as the repair turn shows it: whole when short, else its two ends and what was left out. */
export function repairExcerpt(text: string, each = REPAIR_ECHO_CHARS): string {
  if (text.length <= 2 * each) return text;
  return `${text.slice(0, each)}\n[... ${text.length - 2 * each} characters left out ...]\n${text.slice(-each)}`;
}

function unavailable(host: string, models: string, detail: string, cause?: unknown): StageError {
  return new StageError('dependency_unavailable', `Ollama at ${host} (${models}): ${detail}`, { cause });
}

function isRetryable(err: unknown): boolean {
  const status = (err as { status_code?: number }).status_code;
  if (typeof status === 'number') return status >= 500 || status === 429;
  if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') return true;
  return isConnectionError(err) || /fetch failed|socket|network/i.test(String((err as Error)?.message));
}

export function cacheKey(model: string, promptVersion: string, input: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([model, promptVersion, input]))
    .digest('hex');
}

export interface OllamaProbe {
  serverVersion: string;
  /** The model that will answer: the primary, or the fallback when the primary is missing. */
  model: string;
  usedFallback: boolean;
}

/**
 * Asks Ollama for its version, then for the primary model and, if it is missing, the fallback. Throws a
 * retryable StageError (exit 75) naming the host when the server is unreachable or has neither model.
 * The LLM stages call it through openLlm; the pipeline runner calls it as a precondition.
 */
export async function probeOllama(
  cfg: Pick<LlmConfig, 'host' | 'primary' | 'fallback'>,
  opts: { client?: () => Ollama; timeoutMs?: number } = {},
): Promise<OllamaProbe> {
  const { Ollama } = await import('ollama');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const client =
    opts.client ??
    (() =>
      new Ollama({
        host: cfg.host,
        fetch: (input, init) =>
          fetch(input, {
            ...init,
            signal: AbortSignal.any(
              [init?.signal, AbortSignal.timeout(timeoutMs)].filter((s): s is AbortSignal => !!s),
            ),
          }),
      }));
  const models = `${cfg.primary}, fallback ${cfg.fallback}`;
  let serverVersion: string;
  try {
    serverVersion = (await client().version()).version;
  } catch (err) {
    throw unavailable(cfg.host, models, `unreachable (${(err as Error).message})`, err);
  }
  const exists = async (model: string): Promise<boolean> => {
    try {
      await client().show({ model });
      return true;
    } catch (err) {
      if ((err as { status_code?: number }).status_code === 404) return false;
      throw unavailable(cfg.host, models, `model lookup failed (${(err as Error).message})`, err);
    }
  };
  if (await exists(cfg.primary)) return { serverVersion, model: cfg.primary, usedFallback: false };
  if (await exists(cfg.fallback)) return { serverVersion, model: cfg.fallback, usedFallback: true };
  throw unavailable(
    cfg.host,
    models,
    `neither ${cfg.primary} nor ${cfg.fallback} is available (ollama pull ${cfg.primary})`,
  );
}

/** Connects, picks the model (primary, else fallback) and returns the client. Exit 75 if neither exists. */
export async function openLlm(
  cfg: LlmConfig,
  deps: { db: Kysely<Database>; log: Logger; signal?: AbortSignal },
): Promise<Llm> {
  const { Ollama } = await import('ollama');
  const models = `${cfg.primary}, fallback ${cfg.fallback}`;
  const client = (timeoutMs: number, signal?: AbortSignal): Ollama =>
    new Ollama({
      host: cfg.host,
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          signal: AbortSignal.any(
            [init?.signal, AbortSignal.timeout(timeoutMs), signal, deps.signal].filter(
              (s): s is AbortSignal => !!s,
            ),
          ),
        }),
    });

  const probe = await probeOllama(cfg, { client: () => client(10_000) });
  if (probe.usedFallback) {
    deps.log.warn(
      { primary: cfg.primary, fallback: cfg.fallback },
      'primary model missing: using the fallback',
    );
  }
  const { model, serverVersion } = probe;
  deps.log.info({ host: cfg.host, model, ollama_version: serverVersion }, 'LLM ready');

  const limit = pLimit(cfg.concurrency);
  const counters = { calls: 0, cacheHits: 0, repairs: 0, retries: 0 };
  const backoff = cfg.backoffMs ?? 500;

  const chat = async (
    messages: Array<{ role: string; content: string }>,
    req: StructuredRequest<z.ZodType>,
    signal?: AbortSignal,
  ): Promise<ChatAnswer> => {
    const maxChars = req.numPredict * MAX_CHARS_PER_TOKEN;
    for (let attempt = 0; ; attempt++) {
      const stalled = new AbortController();
      try {
        counters.calls++;
        return await limit(async () => {
          let timer: NodeJS.Timeout | undefined;
          let answering = false;
          // Silence before the first byte may be a queue (Ollama sends its first byte with the first
          // token): the server is asked whether it is alive, and a live one is waited for. Silence once
          // tokens flow is a stall.
          const onSilence = async () => {
            if (!answering && (await alive(cfg.host, Math.min(cfg.stallTimeoutMs, 10_000)))) return quiet();
            stalled.abort();
          };
          const quiet = () => {
            clearTimeout(timer);
            timer = setTimeout(() => void onSilence(), cfg.stallTimeoutMs);
          };
          quiet();
          try {
            const parts = await client(
              cfg.timeoutMs,
              AbortSignal.any([stalled.signal, ...(signal ? [signal] : [])]),
            ).chat({
              model,
              messages,
              stream: true,
              format: jsonSchemaOf(req.schema),
              options: { temperature: req.temperature, num_predict: req.numPredict },
            });
            let content = '';
            let last: { done?: boolean; done_reason?: string; eval_count?: number } | undefined;
            try {
              for await (const part of parts) {
                answering = true;
                quiet();
                content += part.message?.content ?? '';
                last = part;
                if (content.length > maxChars) {
                  parts.abort();
                  return { content, done: false, doneReason: 'oversized' };
                }
              }
            } catch (err) {
              // The stream ended without a done message: Ollama stopped the answer early (its repeat
              // guard does). The ollama client says so only in its error's text.
              if (!/did not receive done/i.test((err as Error).message)) throw err;
              return { content, done: false, doneReason: '' };
            }
            return {
              content,
              done: last?.done !== false,
              doneReason: last?.done_reason ?? '',
              ...(typeof last?.eval_count === 'number' ? { evalCount: last.eval_count } : {}),
            };
          } finally {
            clearTimeout(timer);
          }
        });
      } catch (err) {
        if (signal?.aborted || deps.signal?.aborted) throw err;
        if (stalled.signal.aborted) {
          throw unavailable(
            cfg.host,
            models,
            `stalled: nothing received for ${cfg.stallTimeoutMs} ms, and it does not answer /api/version (LLM_STALL_TIMEOUT_MS)`,
            err,
          );
        }
        if ((err as { status_code?: number }).status_code === 404) {
          throw unavailable(cfg.host, models, `model ${model} disappeared from the server`, err);
        }
        if (!isRetryable(err) || attempt >= cfg.retries) {
          throw unavailable(
            cfg.host,
            models,
            `request failed after ${attempt + 1} attempt(s): ${(err as Error).message}`,
            err,
          );
        }
        counters.retries++;
        const wait = backoff * 2 ** attempt * (0.75 + Math.random() * 0.5);
        deps.log.warn(
          {
            retry: attempt + 1,
            retries: cfg.retries,
            wait_ms: Math.round(wait),
            err: (err as Error).message,
          },
          'LLM request failed: retrying',
        );
        await sleep(wait, undefined, deps.signal ? { signal: deps.signal } : {});
      }
    }
  };

  const check = <S extends z.ZodType>(
    req: StructuredRequest<S>,
    a: ChatAnswer,
  ): { ok: true; value: z.output<S> } | { ok: false; reason: RejectReason; detail: string } => {
    if (a.doneReason === 'oversized' || (a.evalCount !== undefined && a.evalCount > req.numPredict)) {
      return {
        ok: false,
        reason: 'oversized',
        detail: `the answer is longer than ${req.numPredict} tokens can be (${a.doneReason === 'oversized' ? `over ${req.numPredict * MAX_CHARS_PER_TOKEN} characters` : `${a.evalCount} tokens`})`,
      };
    }
    if (a.doneReason === 'length') {
      return { ok: false, reason: 'truncated', detail: `the answer hit the ${req.numPredict}-token limit` };
    }
    // Ollama stops a model that repeats one token over and over and answers 200 with done: false.
    if (!a.done)
      return { ok: false, reason: 'truncated', detail: 'Ollama stopped the answer before it was done' };
    let parsed: unknown;
    try {
      parsed = JSON.parse(a.content);
    } catch (err) {
      return { ok: false, reason: 'invalid_json', detail: `not JSON: ${(err as Error).message}` };
    }
    const res = req.schema.safeParse(parsed);
    if (!res.success) {
      const detail = res.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      return { ok: false, reason: 'schema_violation', detail };
    }
    return { ok: true, value: res.data };
  };

  return {
    model,
    host: cfg.host,
    serverVersion,
    stats: () => ({ ...counters }),
    async structured(req, signal) {
      const key = cacheKey(model, req.promptVersion, req.cacheInput);
      const hit = await deps.db
        .selectFrom('llm_cache')
        .select('output')
        .where('key', '=', key)
        .executeTakeFirst();
      if (hit) {
        const res = req.schema.safeParse(hit.output);
        if (res.success) {
          counters.cacheHits++;
          return {
            ok: true,
            value: res.data,
            model,
            cached: true,
            attempts: 0,
            raw: JSON.stringify(hit.output),
          };
        }
      }
      const messages = [
        { role: 'system', content: `${req.system}\n\n${schemaInstructions(req.schema)}` },
        { role: 'user', content: req.user },
      ];
      let answer = await chat(messages, req, signal);
      let verdict = check(req, answer);
      let attempts = 1;
      if (!verdict.ok && verdict.reason !== 'oversized') {
        // One repair turn: show the model (the ends of) its answer and what was wrong with it.
        counters.repairs++;
        attempts = 2;
        const first = verdict;
        answer = await chat(
          [
            ...messages,
            { role: 'assistant', content: repairExcerpt(answer.content) },
            {
              role: 'user',
              content: `That answer was invalid (${first.reason}: ${repairExcerpt(first.detail)}). Reply again with only the JSON object, valid against the schema, and keep every string short.`,
            },
          ],
          req,
          signal,
        );
        verdict = check(req, answer);
      }
      if (!verdict.ok) {
        return {
          ok: false,
          reason: verdict.reason,
          detail: verdict.detail,
          raw: answer.content,
          model,
          attempts,
        };
      }
      await deps.db
        .insertInto('llm_cache')
        .values({
          key,
          task: req.task,
          model,
          prompt_version: req.promptVersion,
          output: JSON.stringify(verdict.value),
        })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      return { ok: true, value: verdict.value, model, cached: false, attempts, raw: answer.content };
    },
  };
}
