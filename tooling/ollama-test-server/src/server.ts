/**
 * An Ollama-API-compatible HTTP server whose answers each test scripts: a test double for the model
 * weights only. Paths, status codes, JSON field names, error bodies and NDJSON streaming follow Ollama's
 * REST API; what the "model" says is decided per request by `script()` / `setDefault()`.
 */
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { instanceOf } from './auto.ts';
import {
  DEFAULT_MODELS,
  DEFAULT_VERSION,
  estimateTokens,
  type GenerationPath,
  MODEL_NOT_FOUND,
  normalizeModelName,
  OLLAMA_TEXT,
  showResponse,
  splitTokens,
  tagsEntry,
} from './protocol.ts';

export interface OllamaTestServerOptions {
  /** Models that exist ("pulled"); default `['llama3.1:8b', 'mistral:7b']`. A missing tag means `:latest`. */
  models?: string[];
  /** Generation requests processed at once, like OLLAMA_NUM_PARALLEL; the rest wait FIFO. Default 4. */
  slots?: number;
  /** Generation time per answer token (see `estimateTokens`). Default 0. */
  perTokenMs?: number;
  /** What /api/version says. Default '0.0.0-test'. */
  version?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
}

export interface RecordedRequest {
  path: string;
  method: string;
  /** The parsed JSON body; undefined when there was none or it did not parse (see `rawBody`). */
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are whatever JSON the client sent.
  body: any;
  /** Date.now() when the request's body had been read. */
  at: number;
  rawBody: string;
}

export interface LlmRequest {
  path: GenerationPath;
  model: string;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are whatever JSON the client sent.
  body: any;
  /** The text of all messages (chat) or the system + prompt (generate), joined by newlines. */
  text: string;
  /** The request's `format`: a JSON schema object, 'json', or undefined. */
  format: unknown;
  /** 1-based index of this request among the generation requests (`chatCalls()[n - 1]` is it). */
  n: number;
}

export type Behavior =
  /** JSON.stringify(content) as the answer, done_reason 'stop'. */
  | { kind: 'valid'; content: unknown }
  /** The raw text as the answer. */
  | { kind: 'text'; content: string }
  /** A minimal instance of the request's `format` schema ('{}' for format 'json', a sentence without one). */
  | { kind: 'auto' }
  /** JSON that does not parse: the auto answer cut before its end, with a dangling `, "`. */
  | { kind: 'invalid_json' }
  /** JSON.stringify(content); the caller passes a value that breaks its schema. */
  | { kind: 'schema_violation'; content: unknown }
  /**
   * Ollama's repeat guard: when a model emits the same token over 30 times in a row, Ollama 0.17 stops and
   * answers HTTP 200 with what it has and `done: false`, no done_reason (seen with a random-weight model).
   * With `content`, that content whole (even complete JSON must not be trusted); else half an auto answer.
   */
  | { kind: 'cut_off'; content?: unknown }
  /** The first half of JSON.stringify(content ?? auto answer), done_reason 'length' (num_predict hit). */
  | { kind: 'truncated'; content?: unknown }
  /** Waits delayMs while holding a generation slot, then behaves as `then`. */
  | { kind: 'slow'; delayMs: number; then: Behavior }
  /** That HTTP status with Ollama's error body `{"error": ...}`. */
  | { kind: 'status'; status: number; error?: string }
  /** 404 with Ollama's model-not-found body. */
  | { kind: 'model_not_found' }
  /** The socket is destroyed without a response (a connection reset). */
  | { kind: 'reset' };

export interface OllamaTestServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request received, in order of arrival. */
  requests: RecordedRequest[];
  /** The POSTs to /api/chat and /api/generate. */
  chatCalls(): RecordedRequest[];
  setModels(names: string[]): void;
  /** Per-request behaviour; returning undefined uses the default. Replaces the previous script. */
  script(handler: (req: LlmRequest) => Behavior | undefined): void;
  /** The behaviour when no script decides; initially `{ kind: 'auto' }`. */
  setDefault(b: Behavior): void;
  /** Peak number of generation requests holding a slot at once since start or reset(). */
  maxConcurrent(): number;
  /**
   * A stalled server: from now on every request (any path) is read and then never answered, until
   * reset() or close(). What a hung process does: the kernel still accepts connections.
   */
  freeze(): void;
  /** Clears requests, script, default, the request counter, the peak and a freeze. */
  reset(): void;
  /** Stops listening, ends pending work and destroys open sockets. */
  close(): Promise<void>;
}

/**
 * `{ kind: 'slow', delayMs, then }` without a `then:` key at the call site, which Biome's noThenProperty
 * rejects (harmlessly here: a Behavior is no thenable, its `then` is not a function).
 */
export function slow(delayMs: number, then: Behavior): Behavior {
  return { kind: 'slow', delayMs, then };
}

const GENERATION_PATHS: readonly string[] = ['/api/chat', '/api/generate'];
const ROUTES: Record<string, readonly string[]> = {
  '/': ['GET', 'HEAD'],
  '/api/version': ['GET', 'HEAD'],
  '/api/tags': ['GET', 'HEAD'],
  '/api/show': ['POST'],
  '/api/chat': ['POST'],
  '/api/generate': ['POST'],
};
const GO_TYPES: Record<string, string> = {
  '/api/chat': 'ChatRequest',
  '/api/generate': 'GenerateRequest',
  '/api/show': 'ShowRequest',
};
/** Tokens per streamed chunk. */
const STREAM_CHUNK_TOKENS = 4;
const NO_FORMAT_ANSWER = 'This is an automatic answer from the Ollama test server.';
const FALLBACK_INVALID_JSON = '{"part": "1", "band":';

/** FIFO counting semaphore over generation slots, with the peak occupancy. */
class Slots {
  readonly size: number;
  private inFlight = 0;
  private highest = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.size = size;
  }

  acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.inFlight < this.size && this.waiting.length === 0) {
      this.take();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.take();
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  release(): void {
    this.inFlight--;
    while (this.inFlight < this.size) {
      const next = this.waiting.shift();
      if (!next) break;
      next();
    }
  }

  get peak(): number {
    return this.highest;
  }

  resetPeak(): void {
    this.highest = this.inFlight;
  }

  private take(): void {
    this.inFlight++;
    this.highest = Math.max(this.highest, this.inFlight);
  }
}

class Aborted extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function goKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function requestText(path: GenerationPath, body: Record<string, unknown>): string {
  if (path === '/api/chat') {
    const messages = Array.isArray(body.messages) ? body.messages : [];
    return messages
      .map((m) => (isObject(m) && typeof m.content === 'string' ? m.content : ''))
      .filter((c) => c !== '')
      .join('\n');
  }
  return [body.system, body.prompt].filter((s): s is string => typeof s === 'string' && s !== '').join('\n');
}

function autoAnswer(format: unknown): string {
  if (isObject(format)) return JSON.stringify(instanceOf(format));
  if (format === 'json') return '{}';
  return NO_FORMAT_ANSWER;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The answer text and done_reason of a non-slow, non-error behaviour. */
function answerFor(b: Behavior, req: LlmRequest): { content: string; doneReason: 'stop' | 'length' | 'cut' } {
  switch (b.kind) {
    case 'valid':
    case 'schema_violation':
      return { content: JSON.stringify(b.content) ?? 'null', doneReason: 'stop' };
    case 'text':
      return { content: b.content, doneReason: 'stop' };
    case 'invalid_json': {
      const full = autoAnswer(isObject(req.format) || req.format === 'json' ? req.format : 'json');
      const broken = `${full.slice(0, -1)}, "`;
      return { content: parses(broken) ? FALLBACK_INVALID_JSON : broken, doneReason: 'stop' };
    }
    case 'truncated':
    case 'cut_off': {
      const full = b.content !== undefined ? (JSON.stringify(b.content) ?? 'null') : autoAnswer(req.format);
      const chars = Array.from(full);
      if (b.kind === 'cut_off' && b.content !== undefined) return { content: full, doneReason: 'cut' };
      return {
        content: chars.slice(0, Math.max(1, Math.floor(chars.length / 2))).join(''),
        doneReason: b.kind === 'truncated' ? 'length' : 'cut',
      };
    }
    default:
      return { content: autoAnswer(req.format), doneReason: 'stop' };
  }
}

const nsSince = (start: bigint) => Number(process.hrtime.bigint() - start);

export async function startOllamaTestServer(opts: OllamaTestServerOptions = {}): Promise<OllamaTestServer> {
  const slotCount = opts.slots ?? 4;
  if (!Number.isInteger(slotCount) || slotCount < 1) throw new RangeError(`slots must be a positive integer`);
  const perTokenMs = opts.perTokenMs ?? 0;
  if (!(perTokenMs >= 0)) throw new RangeError('perTokenMs must be >= 0');
  const version = opts.version ?? DEFAULT_VERSION;
  const host = opts.host ?? '127.0.0.1';
  const startedAt = new Date();

  let models = (opts.models ?? DEFAULT_MODELS).map(normalizeModelName);
  const requests: RecordedRequest[] = [];
  let scriptFn: ((req: LlmRequest) => Behavior | undefined) | undefined;
  let defaultBehavior: Behavior = { kind: 'auto' };
  let generationCount = 0;
  const slots = new Slots(slotCount);
  const sockets = new Set<Socket>();
  const lifetime = new AbortController();
  let thawed = new AbortController();
  let frozen = false;

  const hasModel = (name: string) => models.includes(normalizeModelName(name));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrival = process.hrtime.bigint();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = req.method ?? 'GET';
    const rawBody = await readBody(req);
    let body: unknown;
    let bodyError: string | undefined;
    if (rawBody.trim() !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch (err) {
        bodyError = (err as Error).message;
      }
    }
    requests.push({ path, method, body, at: Date.now(), rawBody });
    if (frozen) {
      const until = AbortSignal.any([thawed.signal, lifetime.signal]);
      await new Promise((resolve) => until.addEventListener('abort', resolve, { once: true }));
      return void res.destroy();
    }
    const n = GENERATION_PATHS.includes(path) && method === 'POST' ? ++generationCount : 0;

    const allowed = ROUTES[path];
    if (!allowed) return sendText(res, 404, OLLAMA_TEXT.pageNotFound);
    if (!allowed.includes(method)) return sendText(res, 405, OLLAMA_TEXT.methodNotAllowed);

    switch (path) {
      case '/':
        return sendText(res, 200, OLLAMA_TEXT.running);
      case '/api/version':
        return send(res, 200, { version });
      case '/api/tags':
        return send(res, 200, { models: models.map((m) => tagsEntry(m, startedAt)) });
    }

    // POST endpoints: Ollama binds the body into a Go struct first.
    if (rawBody.trim() === '') return send(res, 400, { error: OLLAMA_TEXT.missingBody });
    if (bodyError !== undefined) return send(res, 400, { error: `invalid JSON request body: ${bodyError}` });
    if (body === null) body = {};
    const goType = GO_TYPES[path] as string;
    if (!isObject(body)) {
      return send(res, 400, {
        error: `json: cannot unmarshal ${goKind(body)} into Go value of type api.${goType}`,
      });
    }
    for (const field of ['model', 'name'] as const) {
      if (field in body && typeof body[field] !== 'string' && body[field] !== null) {
        return send(res, 400, {
          error: `json: cannot unmarshal ${goKind(body[field])} into Go struct field ${goType}.${field} of type string`,
        });
      }
    }

    if (path === '/api/show') {
      const name = (body.model || body.name || '') as string;
      if (name === '') return send(res, 400, { error: OLLAMA_TEXT.modelRequired });
      if (!hasModel(name)) return send(res, 404, { error: MODEL_NOT_FOUND['/api/show'](name) });
      return send(res, 200, showResponse(normalizeModelName(name), startedAt));
    }

    const genPath = path as GenerationPath;
    const model = (body.model ?? '') as string;
    if (model === '' && genPath === '/api/chat') return send(res, 400, { error: OLLAMA_TEXT.modelRequired });
    if (!hasModel(model)) return send(res, 404, { error: MODEL_NOT_FOUND[genPath](model) });

    // An empty chat / prompt only loads (or with keep_alive 0 unloads) the model.
    const empty =
      genPath === '/api/chat'
        ? !Array.isArray(body.messages) || body.messages.length === 0
        : typeof body.prompt !== 'string' || body.prompt === '';
    if (empty) {
      const unload = body.keep_alive === 0 || body.keep_alive === '0' || body.keep_alive === '0s';
      return send(res, 200, {
        model,
        created_at: new Date().toISOString(),
        ...(genPath === '/api/chat' ? { message: { role: 'assistant', content: '' } } : { response: '' }),
        done_reason: unload ? 'unload' : 'load',
        done: true,
      });
    }

    const llmReq: LlmRequest = {
      path: genPath,
      model,
      body,
      text: requestText(genPath, body),
      format: body.format,
      n,
    };
    let behavior: Behavior;
    try {
      behavior = scriptFn?.(llmReq) ?? defaultBehavior;
    } catch (err) {
      return send(res, 500, {
        error: `ollama-test-server: the test's script threw: ${(err as Error).message}`,
      });
    }
    await generate(req, res, llmReq, behavior, arrival);
  }

  async function generate(
    req: IncomingMessage,
    res: ServerResponse,
    llmReq: LlmRequest,
    behavior: Behavior,
    arrival: bigint,
  ): Promise<void> {
    let delayMs = 0;
    let b = behavior;
    while (b.kind === 'slow') {
      delayMs += Math.max(0, b.delayMs);
      b = b.then;
    }
    const failNow = () => {
      if (b.kind === 'reset') req.socket.destroy();
      else if (b.kind === 'model_not_found')
        send(res, 404, { error: MODEL_NOT_FOUND[llmReq.path](llmReq.model) });
      else if (b.kind === 'status') {
        const error = b.error ?? (STATUS_CODES[b.status] ?? 'error').toLowerCase();
        send(res, b.status, { error });
      }
    };
    const failing = b.kind === 'reset' || b.kind === 'model_not_found' || b.kind === 'status';
    if (failing && delayMs === 0) return failNow(); // answered before any slot is taken

    const gone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) gone.abort(new Aborted('client went away'));
    };
    if (res.destroyed || req.socket.destroyed) onClose();
    else res.on('close', onClose);
    const signal = AbortSignal.any([gone.signal, lifetime.signal]);
    await slots.acquire(signal);
    try {
      const loaded = process.hrtime.bigint();
      if (delayMs > 0) await sleep(delayMs, undefined, { signal });
      if (failing) return failNow();
      const answer = answerFor(b, llmReq);
      await deliver(res, llmReq, answer, { arrival, loaded, signal });
    } finally {
      slots.release();
    }
  }

  async function deliver(
    res: ServerResponse,
    req: LlmRequest,
    answer: { content: string; doneReason: 'stop' | 'length' | 'cut' },
    t: { arrival: bigint; loaded: bigint; signal: AbortSignal },
  ): Promise<void> {
    const numPredict = isObject(req.body.options) ? req.body.options.num_predict : undefined;
    const evalCount =
      answer.doneReason === 'length' && typeof numPredict === 'number' && numPredict > 0
        ? numPredict
        : Math.max(1, estimateTokens(answer.content));
    const promptEvalCount = Math.max(1, estimateTokens(req.text));
    const isChat = req.path === '/api/chat';
    const piece = (content: string) =>
      isChat ? { message: { role: 'assistant', content } } : { response: content };
    const stream = req.body.stream !== false; // Ollama streams unless told `stream: false`
    const evalStart = process.hrtime.bigint();
    const promptEvalDuration = Number(evalStart - t.loaded);

    const final = (content: string) => ({
      model: req.model,
      created_at: new Date().toISOString(),
      ...piece(content),
      ...(answer.doneReason === 'cut' ? { done: false } : { done: true, done_reason: answer.doneReason }),
      ...(isChat
        ? {}
        : { context: Array.from({ length: Math.min(promptEvalCount + evalCount, 4096) }, (_, i) => i + 1) }),
      total_duration: nsSince(t.arrival),
      load_duration: Number(t.loaded - t.arrival),
      prompt_eval_count: promptEvalCount,
      prompt_eval_duration: promptEvalDuration,
      eval_count: evalCount,
      eval_duration: nsSince(evalStart),
    });

    if (!stream) {
      const ms = perTokenMs * evalCount;
      if (ms > 0) await sleep(ms, undefined, { signal: t.signal });
      return send(res, 200, final(answer.content));
    }

    if (res.destroyed) return;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    const pieces = splitTokens(answer.content, STREAM_CHUNK_TOKENS);
    let sent = 0;
    for (const text of pieces) {
      const tokens = Math.max(1, estimateTokens(text));
      sent += tokens;
      if (perTokenMs > 0) await sleep(perTokenMs * tokens, undefined, { signal: t.signal });
      if (res.destroyed) return;
      res.write(
        `${JSON.stringify({ model: req.model, created_at: new Date().toISOString(), ...piece(text), done: false })}\n`,
      );
    }
    if (perTokenMs > 0 && sent < evalCount && answer.doneReason === 'stop') {
      await sleep(perTokenMs * (evalCount - sent), undefined, { signal: t.signal });
    }
    if (res.destroyed) return;
    res.end(`${JSON.stringify(final(''))}\n`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof Aborted || (err as Error)?.name === 'AbortError' || lifetime.signal.aborted) {
        if (!res.writableFinished) res.destroy();
        return;
      }
      if (!res.headersSent && !res.destroyed) send(res, 500, { error: `ollama-test-server: ${String(err)}` });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    requests,
    chatCalls: () => requests.filter((r) => GENERATION_PATHS.includes(r.path) && r.method === 'POST'),
    setModels(names) {
      models = names.map(normalizeModelName);
    },
    script(handler) {
      scriptFn = handler;
    },
    setDefault(b) {
      defaultBehavior = b;
    },
    maxConcurrent: () => slots.peak,
    freeze() {
      frozen = true;
    },
    reset() {
      frozen = false;
      thawed.abort();
      thawed = new AbortController();
      requests.length = 0;
      scriptFn = undefined;
      defaultBehavior = { kind: 'auto' };
      generationCount = 0;
      slots.resetPeak();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        lifetime.abort(new Aborted('server closed'));
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
