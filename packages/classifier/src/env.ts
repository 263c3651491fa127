import { stageEnv } from '@pronielts/shared/config';
import { z } from 'zod';

/** Every setting of the classify stage: the shared variables plus its own. Parsed once, at start. */
export const env = stageEnv({
  /** Ollama's API; in a pod the in-cluster service, elsewhere the local default. */
  OLLAMA_HOST: z
    .string()
    .url()
    .default(
      process.env.KUBERNETES_SERVICE_HOST
        ? 'http://ollama.ollama.svc.cluster.local:11434'
        : 'http://127.0.0.1:11434',
    ),
  LLM_MODEL: z.string().min(1).default('llama3.1:8b'),
  /** Used when LLM_MODEL is missing on the server. */
  LLM_FALLBACK_MODEL: z.string().min(1).default('mistral:7b'),
});
export type Env = z.output<typeof env>;
