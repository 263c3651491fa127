import type { TestServices } from './index.ts';

/**
 * The real Ollama the live LLM suites run against:
 *  1. the one scripts/services started (`inject('services').ollama`): Ollama built from its Go module,
 *     serving the tiny random-weight model of scripts/make-tiny-model (`tiny: true`);
 *  2. otherwise OLLAMA_HOST/LLM_MODEL from the environment, for a developer's Ollama with a real model.
 * Returns why not when neither answers, so a suite can skip with the reason in its title.
 */
export interface LiveOllama {
  host: string;
  model: string;
  /** What /api/version said. */
  version: string;
  /** Generations the server runs at once (its OLLAMA_NUM_PARALLEL, as far as we know it). */
  numParallel: number;
  /** The tiny random-weight test model: answers are schema-valid noise, never meaningful. */
  tiny: boolean;
  /** For describe titles: names the server, its version and the model. */
  title: string;
}

export async function resolveLiveOllama(
  services: TestServices,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ live: LiveOllama; why?: undefined } | { live?: undefined; why: string }> {
  const fromServices = services.ollama;
  const host = fromServices?.host ?? env.OLLAMA_HOST;
  if (!host) {
    return {
      why: 'no Ollama: scripts/services did not start one (scripts/build-ollama) and OLLAMA_HOST is not set',
    };
  }
  const model = fromServices?.model ?? env.LLM_MODEL ?? 'llama3.1:8b';
  try {
    const version = (
      (await (await fetch(`${host}/api/version`, { signal: AbortSignal.timeout(5000) })).json()) as {
        version?: string;
      }
    ).version;
    const tags = (await (await fetch(`${host}/api/tags`, { signal: AbortSignal.timeout(5000) })).json()) as {
      models?: Array<{ name: string }>;
    };
    const names = (tags.models ?? []).map((m) => m.name);
    if (!names.includes(model) && !names.includes(`${model}:latest`)) {
      return { why: `Ollama at ${host} has no ${model} (has: ${names.join(', ') || 'nothing'})` };
    }
    const tiny = !!fromServices;
    return {
      live: {
        host,
        model,
        version: version ?? 'unknown',
        numParallel: fromServices?.numParallel ?? Number(env.OLLAMA_NUM_PARALLEL ?? 1),
        tiny,
        title: `Ollama ${version ?? '?'} at ${host}, model ${model}${tiny ? ' (tiny, random weights)' : ''}`,
      },
    };
  } catch (err) {
    return { why: `no Ollama reachable at ${host} (${(err as Error).message})` };
  }
}

/**
 * Holds one of the server's generation slots until `release()`: a chat whose JSON-schema `format` forces
 * about `chars` characters (the grammar allows nothing shorter), so even the tiny model generates for
 * many seconds. `started` resolves once the server has begun answering (first streamed chunk);
 * `running()` says whether it still is.
 */
export function holdSlot(
  host: string,
  model: string,
  chars = 12_000,
): { started: Promise<void>; running: () => boolean; release: () => Promise<void> } {
  const ac = new AbortController();
  let active = false;
  const keys = Array.from({ length: Math.ceil(chars / 2000) }, (_, i) => `s${i}`);
  let onStart: () => void = () => {};
  let onFail: (err: unknown) => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    onStart = resolve;
    onFail = reject;
  });
  const done = (async () => {
    try {
      const res = await fetch(`${host}/api/chat`, {
        method: 'POST',
        signal: ac.signal,
        body: JSON.stringify({
          model,
          stream: true,
          messages: [{ role: 'user', content: `hold a slot ${Math.random()}` }],
          // Strings of at most 2,000: llama.cpp's grammar parser refuses larger repetition counts, and
          // Ollama 0.17.4's runner then crashes (SIGSEGV) instead of answering an error.
          format: {
            type: 'object',
            properties: Object.fromEntries(
              keys.map((k) => [k, { type: 'string', minLength: 2000, maxLength: 2000 }]),
            ),
            required: keys,
          },
          // Temperature 1: at 0 the tiny model repeats itself and Ollama's repeat guard ends the answer.
          options: { num_predict: keys.length * 2010 + 50, temperature: 1 },
        }),
      });
      if (!res.ok || !res.body) throw new Error(`holdSlot: HTTP ${res.status} ${await res.text()}`);
      const reader = res.body.getReader();
      await reader.read();
      active = true;
      onStart();
      while (!(await reader.read()).done) {
        // drain until released
      }
      onFail(new Error('holdSlot: the generation ended before release()'));
    } catch (err) {
      onFail(err);
    } finally {
      active = false;
    }
  })();
  return {
    started,
    running: () => active,
    release: async () => {
      ac.abort();
      await done;
    },
  };
}
