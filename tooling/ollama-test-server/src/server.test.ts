import { Ollama } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MODEL_NOT_FOUND } from './protocol.ts';
import { type LlmRequest, type OllamaTestServer, slow, startOllamaTestServer } from './server.ts';

const MODEL = 'llama3.1:8b';

/** A schema of the kind the project's stages send as `format`. */
const Classification = z.object({
  part: z.enum(['1', '2', '3']),
  band: z.number().min(0).max(9).multipleOf(0.5),
  questions: z.array(z.object({ text: z.string().min(5), start: z.number().nonnegative() })).min(1),
  notes: z.string().nullable(),
});
const FORMAT = z.toJSONSchema(Classification);

let server: OllamaTestServer;
let client: Ollama;

const chat = (extra: Record<string, unknown> = {}) =>
  client.chat({
    model: MODEL,
    messages: [
      { role: 'system', content: 'Classify the transcript.' },
      { role: 'user', content: 'Part two: describe a place you like.' },
    ],
    stream: false,
    format: FORMAT,
    options: { temperature: 0, num_predict: 256 },
    ...extra,
  } as Parameters<Ollama['chat']>[0] & { stream: false });

/** What the client threw (or fails the test if it resolved). */
async function thrown(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  server = await startOllamaTestServer();
  client = new Ollama({ host: server.url });
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.setModels(['llama3.1:8b', 'mistral:7b']);
});

describe('behaviours over /api/chat with the ollama client', () => {
  it('valid: the JSON of the content, done_reason stop, Ollama response fields', async () => {
    server.setDefault({ kind: 'valid', content: { part: '2', band: 6.5, questions: [], notes: null } });
    const res = await chat();
    expect(JSON.parse(res.message.content)).toEqual({ part: '2', band: 6.5, questions: [], notes: null });
    expect(res).toMatchObject({
      model: MODEL,
      done: true,
      done_reason: 'stop',
      message: { role: 'assistant' },
    });
    expect(new Date(res.created_at).getTime()).not.toBeNaN();
    for (const field of [
      'total_duration',
      'load_duration',
      'prompt_eval_count',
      'prompt_eval_duration',
      'eval_count',
      'eval_duration',
    ] as const) {
      expect(Number.isInteger(res[field]), field).toBe(true);
      expect(res[field], field).toBeGreaterThanOrEqual(0);
    }
    expect(res.eval_count).toBeGreaterThan(0);
    expect(res.prompt_eval_count).toBeGreaterThan(0);
    expect(res.total_duration).toBeGreaterThanOrEqual(res.eval_duration);
  });

  it('text: the raw text', async () => {
    server.setDefault({ kind: 'text', content: 'Sorry, I cannot help with that.' });
    expect((await chat()).message.content).toBe('Sorry, I cannot help with that.');
  });

  it('auto: a minimal instance of the format schema that the zod schema accepts', async () => {
    const res = await chat();
    const parsed = Classification.safeParse(JSON.parse(res.message.content));
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(parsed.data).toEqual({
      part: '1',
      band: 0,
      questions: [{ text: 'textx', start: 0 }],
      notes: 'text',
    });
  });

  it('auto without a schema: {} for format "json", a sentence without format', async () => {
    expect((await chat({ format: 'json' })).message.content).toBe('{}');
    expect((await chat({ format: undefined })).message.content).toMatch(/^[A-Z].*\.$/);
  });

  it('invalid_json: JSON.parse fails', async () => {
    server.setDefault({ kind: 'invalid_json' });
    const { message, done_reason } = await chat();
    expect(done_reason).toBe('stop');
    expect(() => JSON.parse(message.content)).toThrow(SyntaxError);
  });

  it('schema_violation: parses as JSON, fails the schema', async () => {
    server.setDefault({ kind: 'schema_violation', content: { part: '7', band: 12 } });
    const json = JSON.parse((await chat()).message.content);
    expect(json).toEqual({ part: '7', band: 12 });
    expect(Classification.safeParse(json).success).toBe(false);
  });

  it('truncated: a prefix of a valid answer, done_reason length, eval_count = num_predict', async () => {
    server.setDefault({ kind: 'truncated' });
    const res = await chat();
    expect(res.done).toBe(true);
    expect(res.done_reason).toBe('length');
    expect(res.eval_count).toBe(256);
    const full = JSON.stringify(Classification.parse(JSON.parse((await chatAuto()).message.content)));
    expect(full.startsWith(res.message.content)).toBe(true);
    expect(res.message.content.length).toBeLessThan(full.length);
    expect(() => JSON.parse(res.message.content)).toThrow(SyntaxError);

    server.setDefault({ kind: 'truncated', content: { a: 'long answer' } });
    expect((await chat()).message.content).toBe('{"a":"lon'); // the first half of {"a":"long answer"}
  });

  async function chatAuto() {
    server.setDefault({ kind: 'auto' });
    return chat();
  }

  it('slow: answers after at least the delay, then as told', async () => {
    server.setDefault(slow(120, { kind: 'valid', content: { ok: true } }));
    const started = performance.now();
    const res = await chat();
    expect(performance.now() - started).toBeGreaterThanOrEqual(119); // timers may round down by a ms
    expect(res.message.content).toBe('{"ok":true}');
    expect(res.total_duration).toBeGreaterThanOrEqual(119e6);
  });

  it('status: the client throws ResponseError with that status and Ollama’s error body', async () => {
    server.setDefault({
      kind: 'status',
      status: 500,
      error: 'llama runner process has terminated: signal: killed',
    });
    const err = await thrown(chat());
    expect(err.name).toBe('ResponseError');
    expect(err.status_code).toBe(500);
    expect(err.message).toBe('llama runner process has terminated: signal: killed');

    server.setDefault({ kind: 'status', status: 503 });
    expect(await thrown(chat())).toMatchObject({ status_code: 503, message: 'service unavailable' });
  });

  it('model_not_found: scripted, and automatic for a model that is not pulled, whatever the script', async () => {
    server.setDefault({ kind: 'model_not_found' });
    const scripted = await thrown(chat());
    expect(scripted).toMatchObject({ name: 'ResponseError', status_code: 404 });
    expect(scripted.message).toBe(`model "${MODEL}" not found, try pulling it first`);

    let scriptCalls = 0;
    server.script(() => {
      scriptCalls++;
      return { kind: 'valid', content: {} };
    });
    const missing = await thrown(chat({ model: 'qwen2.5:7b' }));
    expect(missing).toMatchObject({ name: 'ResponseError', status_code: 404 });
    expect(missing.message).toContain('qwen2.5:7b');
    expect(missing.message).toBe(MODEL_NOT_FOUND['/api/chat']('qwen2.5:7b'));
    expect(scriptCalls).toBe(0);
    // Ollama's default tag is `latest`: `mistral` is not `mistral:7b`.
    expect(await thrown(chat({ model: 'mistral' }))).toMatchObject({ status_code: 404 });
    expect((await chat({ model: 'MISTRAL:7B' })).model).toBe('MISTRAL:7B');
  });

  it('reset: the connection is destroyed, the client’s fetch rejects with a connection error', async () => {
    server.setDefault({ kind: 'reset' });
    const err = await thrown(chat());
    expect(err.name).toBe('TypeError');
    expect(err.message).toBe('fetch failed');
    expect((err.cause as { code?: string }).code).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
    server.setDefault({ kind: 'auto' });
    await expect(chat()).resolves.toMatchObject({ done: true }); // the server lives on
  });

  it('script: per request, with n, text, format and body; undefined falls back to the default', async () => {
    const seen: LlmRequest[] = [];
    server.setDefault({ kind: 'text', content: 'default' });
    server.script((req) => {
      seen.push(req);
      return req.n === 2 ? { kind: 'text', content: 'second' } : undefined;
    });
    expect((await chat()).message.content).toBe('default');
    expect((await chat()).message.content).toBe('second');
    expect(seen.map((r) => r.n)).toEqual([1, 2]);
    expect(seen[0]).toMatchObject({
      path: '/api/chat',
      model: MODEL,
      text: 'Classify the transcript.\nPart two: describe a place you like.',
      format: FORMAT,
    });
    expect(seen[0]?.body.options).toEqual({ temperature: 0, num_predict: 256 });
    expect(server.chatCalls()[1]?.body).toBe(seen[1]?.body);

    server.script(() => {
      throw new Error('no such case');
    });
    expect(await thrown(chat())).toMatchObject({
      status_code: 500,
      message: expect.stringContaining('no such case'),
    });
  });

  it('streams NDJSON when asked to, with a final done chunk', async () => {
    server.setDefault({ kind: 'valid', content: { answer: 'one two three four five six seven' } });
    const chunks = [];
    for await (const part of await client.chat({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    })) {
      chunks.push(part);
    }
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.slice(0, -1).every((c) => c.done === false)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'stop', message: { content: '' } });
    expect(chunks.map((c) => c.message.content).join('')).toBe(
      '{"answer":"one two three four five six seven"}',
    );

    server.setDefault({ kind: 'model_not_found' });
    const err = await thrown(
      client.chat({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true }),
    );
    expect(err).toMatchObject({ status_code: 404 });
  });
});

describe('/api/generate', () => {
  it('answers in `response`, with the same behaviours and its own not-found text', async () => {
    server.setDefault({ kind: 'valid', content: { x: 1 } });
    const res = await client.generate({
      model: 'mistral:7b',
      prompt: 'Say x',
      system: 'Be terse',
      stream: false,
    });
    expect(res).toMatchObject({ model: 'mistral:7b', response: '{"x":1}', done: true, done_reason: 'stop' });
    expect(Array.isArray(res.context)).toBe(true);
    expect(server.chatCalls().map((r) => r.path)).toEqual(['/api/generate']);

    const err = await thrown(client.generate({ model: 'nope:1b', prompt: 'x', stream: false }));
    expect(err).toMatchObject({ status_code: 404, message: "model 'nope:1b' not found" });
  });

  it('an empty prompt only loads the model (done_reason load), no script involved', async () => {
    server.setDefault({ kind: 'status', status: 500 });
    const res = await client.generate({ model: MODEL, prompt: '', stream: false });
    expect(res).toMatchObject({ done: true, done_reason: 'load', response: '' });
  });
});

describe('model endpoints', () => {
  it('/api/tags lists the models with Ollama’s fields', async () => {
    server.setModels(['qwen2.5:7b', 'llama3.1']);
    const { models } = await client.list();
    expect(models.map((m) => m.name)).toEqual(['qwen2.5:7b', 'llama3.1:latest']);
    expect(models[0]).toMatchObject({
      model: 'qwen2.5:7b',
      size: expect.any(Number),
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      details: { format: 'gguf', family: 'qwen', parameter_size: '7B', quantization_level: 'Q4_K_M' },
    });
    expect(new Date(models[0]?.modified_at as unknown as string).getTime()).not.toBeNaN();
  });

  it('/api/show: 200 with modelfile, details, model_info, capabilities; 404 for a missing model', async () => {
    const shown = await client.show({ model: MODEL });
    expect(shown).toMatchObject({
      modelfile: expect.stringContaining('FROM'),
      parameters: expect.any(String),
      template: expect.any(String),
      details: { format: 'gguf', family: 'llama', parameter_size: '8B' },
      model_info: {},
      capabilities: ['completion'],
    });
    const err = await thrown(client.show({ model: 'gemma2:2b' }));
    expect(err).toMatchObject({
      name: 'ResponseError',
      status_code: 404,
      message: "model 'gemma2:2b' not found",
    });
  });

  it('/api/version', async () => {
    expect(await client.version()).toEqual({ version: '0.0.0-test' });
  });
});

describe('HTTP edges', () => {
  const post = (path: string, body: string) =>
    fetch(`${server.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('a bad JSON body is 400 {"error"}, an empty one "missing request body", a wrong type Go’s unmarshal error', async () => {
    const bad = await post('/api/chat', '{"model": "llama3.1:8b",');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await bad.json()).toEqual({ error: expect.any(String) });

    const empty = await post('/api/chat', '');
    expect([empty.status, await empty.json()]).toEqual([400, { error: 'missing request body' }]);

    const wrong = await post('/api/generate', '{"model": 5}');
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toMatch(
      /cannot unmarshal number .* of type string/,
    );

    const noModel = await post('/api/chat', '{"messages": []}');
    expect([noModel.status, await noModel.json()]).toEqual([400, { error: 'model is required' }]);
    expect(server.chatCalls()).toHaveLength(4);
    expect(server.chatCalls()[0]?.body).toBeUndefined();
    expect(server.chatCalls()[0]?.rawBody).toBe('{"model": "llama3.1:8b",');
  });

  it('unknown paths are 404, wrong methods 405, as gin answers them; / says Ollama is running', async () => {
    const unknown = await fetch(`${server.url}/api/nope`);
    expect([unknown.status, await unknown.text()]).toEqual([404, '404 page not found']);
    const wrong = await fetch(`${server.url}/api/chat`);
    expect(wrong.status).toBe(405);
    await wrong.text();
    const root = await fetch(server.url);
    expect(await root.text()).toBe('Ollama is running');
  });
});

describe('recording', () => {
  it('records every request with path, method, parsed body and time; chatCalls() only generations', async () => {
    const before = Date.now();
    await chat();
    await client.list();
    await client.generate({ model: MODEL, prompt: 'p', stream: false });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/chat',
      'GET /api/tags',
      'POST /api/generate',
    ]);
    const [first] = server.requests;
    expect(first?.body).toMatchObject({
      model: MODEL,
      stream: false,
      format: FORMAT,
      options: { num_predict: 256 },
    });
    expect(first?.at).toBeGreaterThanOrEqual(before);
    expect(server.chatCalls().map((r) => r.path)).toEqual(['/api/chat', '/api/generate']);

    server.reset();
    expect(server.requests).toEqual([]);
    expect(server.maxConcurrent()).toBe(0);
  });
});

describe('generation slots', () => {
  it('with slots=2 and a per-token cost, six concurrent requests run two at a time and all succeed', async () => {
    const limited = await startOllamaTestServer({ slots: 2, perTokenMs: 2 });
    try {
      const c = new Ollama({ host: limited.url });
      const order: number[] = [];
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          c
            .chat({
              model: MODEL,
              messages: [{ role: 'user', content: `q${i}` }],
              format: FORMAT,
              stream: false,
            })
            .then((r) => {
              order.push(i);
              return r;
            }),
        ),
      );
      expect(results.every((r) => Classification.safeParse(JSON.parse(r.message.content)).success)).toBe(
        true,
      );
      expect(limited.maxConcurrent()).toBe(2);
      // Waiting for a slot shows up as load time, as in Ollama's scheduler.
      expect(Math.max(...results.map((r) => r.load_duration))).toBeGreaterThan(0);
      expect(results.every((r) => r.eval_duration >= r.eval_count * 2e6 - 1e6)).toBe(true);
      expect(order).toHaveLength(6);
    } finally {
      await limited.close();
    }
  });

  it('a client that gives up frees its slot, and close() ends pending work', async () => {
    const single = await startOllamaTestServer({ slots: 1 });
    try {
      single.script((req) => (req.n === 1 ? slow(60_000, { kind: 'auto' }) : undefined));
      const body = JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'x' }],
        stream: false,
      });
      const giveUp = new AbortController();
      const gaveUp = fetch(`${single.url}/api/chat`, { method: 'POST', body, signal: giveUp.signal });
      while (single.chatCalls().length < 1) await new Promise((r) => setImmediate(r));
      giveUp.abort();
      await expect(gaveUp).rejects.toThrow();
      const c = new Ollama({ host: single.url });
      await expect(
        c.chat({ model: MODEL, messages: [{ role: 'user', content: 'y' }], stream: false }),
      ).resolves.toMatchObject({
        done: true,
      });

      single.script(() => slow(60_000, { kind: 'auto' }));
      const pending = thrown(
        c.chat({ model: MODEL, messages: [{ role: 'user', content: 'z' }], stream: false }),
      );
      while (single.chatCalls().length < 3) await new Promise((r) => setImmediate(r));
      await single.close();
      expect((await pending).message).toBe('fetch failed');
    } finally {
      await single.close();
    }
  });
});
