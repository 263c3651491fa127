import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';
export { PROGRESS_MSG, Progress, ProgressRecord, trackProgress } from './progress.ts';

/**
 * JSON-lines logging (pino) with two layers of secret redaction:
 *  1. by key: fields named like credentials are replaced wherever they appear in a log object;
 *  2. by value: every known secret value (from the env), and any password in a URL's userinfo, is scrubbed
 *     from the final line, so a secret that leaks into an error message or a driver's text is caught too.
 */

const REDACT_KEYS = [
  'password',
  'secret',
  'secretKey',
  'accessKey',
  'token',
  'authorization',
  'MINIO_SECRET_KEY',
  'MINIO_ACCESS_KEY',
  'DATABASE_URL',
];
const CENSOR = '[redacted]';

/** `scheme://user:password@host` → `scheme://user:[redacted]@host`. */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*):([^@/?#\s]+)@/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export type Redactor = (text: string) => string;

/** A function that scrubs the given secret values and URL passwords from any text. */
export function createRedactor(secrets: readonly string[] = []): Redactor {
  const values = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  const valueRe = values.length > 0 ? new RegExp(values.map(escapeRegExp).join('|'), 'g') : undefined;
  return (text) => {
    let out = text.replace(URL_USERINFO, `$1:${CENSOR}@`);
    if (valueRe) out = out.replace(valueRe, CENSOR);
    return out;
  };
}

export interface LoggerOptions {
  level?: string;
  /** Fields on every line, e.g. { stage, run_id }. */
  base?: Record<string, unknown>;
  secrets?: readonly string[];
  /** Defaults to stdout, written synchronously so the last line (the summary) is never lost on exit. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const redact = createRedactor(opts.secrets);
  return pino(
    {
      level: opts.level ?? 'info',
      base: opts.base ?? {},
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [...REDACT_KEYS, ...REDACT_KEYS.map((k) => `*.${k}`)],
        censor: CENSOR,
      },
      hooks: { streamWrite: redact },
    },
    opts.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

/** Serialises an error for a log line or a DB column: message and code, never a stack of secrets. */
export function describeError(
  err: unknown,
  redact: Redactor = createRedactor(),
): { message: string; code?: string } {
  if (err instanceof Error) {
    const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
    const cause =
      err.cause instanceof Error && !err.message.includes(err.cause.message) ? `: ${err.cause.message}` : '';
    return { message: redact(`${err.message}${cause}`), ...(code ? { code } : {}) };
  }
  return { message: redact(String(err)) };
}
