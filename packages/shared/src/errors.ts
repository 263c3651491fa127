/**
 * Stage errors and the one place that maps failures to the exit codes of the stage contract:
 *   0 done · 2 the stage's own input is invalid (retrying cannot help)
 *   75 a dependency is unavailable (EX_TEMPFAIL: retry later) · 1 a bug
 *   3 a data-quality check ran and found a problem (`pronielts-exporter quality-check`): the data is
 *     wrong, not the stage or its input, and retrying in a minute cannot fix it
 */

export const EXIT = { ok: 0, bug: 1, invalidInput: 2, checkFailed: 3, unavailable: 75 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type StageErrorCode =
  | 'config_invalid'
  | 'input_invalid'
  | 'storage_unavailable'
  | 'db_unavailable'
  | 'dependency_unavailable'
  | 'interrupted'
  | 'not_implemented'
  | 'integrity'
  | 'check_failed'
  | 'internal';

const RETRYABLE: Record<StageErrorCode, boolean> = {
  config_invalid: false,
  input_invalid: false,
  storage_unavailable: true,
  db_unavailable: true,
  dependency_unavailable: true,
  interrupted: true,
  not_implemented: false,
  integrity: false,
  check_failed: false,
  internal: false,
};

export class StageError extends Error {
  readonly code: StageErrorCode;
  readonly retryable: boolean;

  constructor(code: StageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StageError';
    this.code = code;
    this.retryable = RETRYABLE[code];
  }
}

/** Node/libuv error codes that mean "the other side is not there (right now)". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/** S3 error codes that are the server's trouble, not ours. */
const S3_RETRYABLE = new Set([
  'ServiceUnavailable',
  'SlowDown',
  'InternalError',
  'RequestTimeout',
  'XMinioServerNotInitialized',
]);

function codeOf(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** True if `err` (or anything in its cause chain / AggregateError list) is a transient connection failure. */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 8) return false;
  const code = codeOf(err);
  if (code && NETWORK_CODES.has(code)) return true;
  // PostgreSQL SQLSTATE class 08 (connection exception), 57P01-57P03 (admin shutdown, crash, cannot connect now).
  if (code && (/^08/.test(code) || /^57P0[1-3]$/.test(code))) return true;
  if (code && S3_RETRYABLE.has(code)) return true;
  const msg = err instanceof Error ? err.message : '';
  if (
    /Connection terminated|connection timeout|Client has encountered a connection error|socket hang up/i.test(
      msg,
    )
  ) {
    return true;
  }
  if (err instanceof AggregateError && err.errors.some((e) => isConnectionError(e, depth + 1))) return true;
  return 'cause' in err ? isConnectionError(err.cause, depth + 1) : false;
}

/** The exit code for an error that escaped a stage's run(). */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof StageError) {
    if (err.retryable) return EXIT.unavailable;
    if (err.code === 'check_failed') return EXIT.checkFailed;
    return err.code === 'config_invalid' || err.code === 'input_invalid' ? EXIT.invalidInput : EXIT.bug;
  }
  return isConnectionError(err) ? EXIT.unavailable : EXIT.bug;
}

/** A StageError for any error, keeping the original as the cause. */
export function toStageError(err: unknown, fallback: StageErrorCode = 'internal'): StageError {
  if (err instanceof StageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code: StageErrorCode = isConnectionError(err) ? 'dependency_unavailable' : fallback;
  return new StageError(code, message, { cause: err });
}
