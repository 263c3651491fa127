import { parseEnv, type SharedEnv, secretsOf, sharedEnv } from '../config/index.ts';
import { createLogger, createRedactor, type Logger } from './index.ts';

/**
 * The shared env for the small CLIs outside the stage harness (`pronielts-migrate`, `pronielts-buckets`):
 * parsed once; a bad variable is one `config_invalid` line on `boot` that never echoes a secret, and the
 * caller exits 2. On success, a logger that redacts the configured secrets.
 */
export function loadToolEnv(
  stage: string,
  boot: Logger,
): { env: SharedEnv; secrets: string[]; log: Logger } | null {
  let env: SharedEnv;
  try {
    env = parseEnv(sharedEnv, process.env);
  } catch (err) {
    const raw = [process.env.DATABASE_URL ?? '', process.env.MINIO_SECRET_KEY ?? ''];
    boot.error({ code: 'config_invalid' }, createRedactor(raw)((err as Error).message));
    return null;
  }
  const secrets = secretsOf(env);
  return { env, secrets, log: createLogger({ level: env.LOG_LEVEL, base: { stage }, secrets }) };
}
