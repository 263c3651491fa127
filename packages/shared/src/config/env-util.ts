import { z } from 'zod';
import { StageError } from '../errors.ts';

/**
 * Env parsing helpers. Stages parse their env once, at start, with one zod object; a missing or malformed
 * variable becomes a one-line `config_invalid` error naming the variable and what was expected.
 */

/** A boolean env var. `z.coerce.boolean()` would turn "false" into true. */
export const BoolEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''], {
    error: 'expected true or false (or 1/0, yes/no, on/off)',
  })
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

/** A positive integer env var. */
export const IntEnv = (opts: { min?: number; max?: number } = {}) =>
  z.coerce
    .number()
    .int()
    .min(opts.min ?? 0)
    .max(opts.max ?? Number.MAX_SAFE_INTEGER);

/** Empty strings count as unset (Kubernetes and compose happily inject `FOO=`). */
export const OptionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

function describeIssue(issue: z.core.$ZodIssue, present: boolean): string {
  switch (issue.code) {
    case 'invalid_type':
      return present ? `expected ${issue.expected}` : `is required (expected ${issue.expected})`;
    case 'invalid_value':
      return issue.message.startsWith('expected ')
        ? issue.message
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `expected ${issue.origin === 'string' ? 'length ' : ''}>= ${String(issue.minimum)}`;
    case 'too_big':
      return `expected ${issue.origin === 'string' ? 'length ' : ''}<= ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}

/** One line per problem, `NAME: what was expected`, never echoing the value (it may be a secret). */
export function formatEnvIssues(error: z.ZodError, env: NodeJS.ProcessEnv = {}): string {
  return error.issues
    .map((i) => {
      const name = i.path.length > 0 ? i.path.join('.') : 'env';
      const value = env[String(i.path[0])];
      return `${name}: ${describeIssue(i, value !== undefined && value !== '')}`;
    })
    .join('; ');
}

/** Parses `env` with `schema`, or throws a config_invalid StageError whose message names every bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const res = schema.safeParse(env);
  if (!res.success)
    throw new StageError('config_invalid', `invalid configuration: ${formatEnvIssues(res.error, env)}`);
  return res.data;
}
