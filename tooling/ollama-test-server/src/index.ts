export { type InstanceOptions, instanceOf, type JsonSchema } from './auto.ts';
export {
  DEFAULT_MODELS,
  DEFAULT_VERSION,
  estimateTokens,
  type GenerationPath,
  MODEL_NOT_FOUND,
  normalizeModelName,
  OLLAMA_TEXT,
} from './protocol.ts';
export {
  type Behavior,
  type LlmRequest,
  type OllamaTestServer,
  type OllamaTestServerOptions,
  type RecordedRequest,
  slow,
  startOllamaTestServer,
} from './server.ts';
