import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor, isConnectionError, StageError } from './errors.ts';

const errno = (code: string) => Object.assign(new Error(code), { code });

describe('exit codes', () => {
  it.each([
    [new StageError('config_invalid', 'x'), EXIT.invalidInput],
    [new StageError('input_invalid', 'x'), EXIT.invalidInput],
    [new StageError('storage_unavailable', 'x'), EXIT.unavailable],
    [new StageError('db_unavailable', 'x'), EXIT.unavailable],
    [new StageError('interrupted', 'x'), EXIT.unavailable],
    [new StageError('not_implemented', 'x'), EXIT.bug],
    [new StageError('integrity', 'x'), EXIT.bug],
    [new StageError('check_failed', 'x'), EXIT.checkFailed],
    [errno('ECONNREFUSED'), EXIT.unavailable],
    [new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')]), EXIT.unavailable],
    [new Error('wrapped', { cause: errno('ECONNRESET') }), EXIT.unavailable],
    [errno('57P01'), EXIT.unavailable],
    [errno('08006'), EXIT.unavailable],
    [errno('SlowDown'), EXIT.unavailable],
    [errno('23505'), EXIT.bug],
    [new TypeError('undefined is not a function'), EXIT.bug],
    ['a string', EXIT.bug],
  ])('%s → %i', (err, code) => {
    expect(exitCodeFor(err)).toBe(code);
  });

  it('does not loop on a cyclic cause chain', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = a;
    expect(isConnectionError(a)).toBe(false);
  });
});
