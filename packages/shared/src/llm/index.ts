export {
  cacheKey,
  type Llm,
  type LlmConfig,
  type OllamaProbe,
  openLlm,
  probeOllama,
  repairExcerpt,
  type StructuredRequest,
  type StructuredResult,
} from './client.ts';
export { DATA_RULES, dataBlock, jsonSchemaOf, looksLikeInjection, schemaInstructions } from './prompt.ts';

import type { z } from 'zod';
import type { llmEnvShape } from '../config/index.ts';
import type { LlmConfig } from './client.ts';

type LlmEnv = z.output<z.ZodObject<typeof llmEnvShape>>;

export function llmConfigFrom(env: LlmEnv): LlmConfig {
  return {
    host: env.OLLAMA_HOST,
    primary: env.LLM_MODEL,
    fallback: env.LLM_FALLBACK_MODEL,
    concurrency: env.LLM_CONCURRENCY,
    timeoutMs: env.LLM_TIMEOUT_MS,
    stallTimeoutMs: env.LLM_STALL_TIMEOUT_MS,
    retries: env.LLM_RETRIES,
  };
}
