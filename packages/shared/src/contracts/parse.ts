import type { z } from 'zod';
import { StageError } from '../errors.ts';

/** Validates a stage's input; a violation is the caller's error (exit 2), named field by field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  const detail = res.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`)
    .join('; ');
  throw new StageError('input_invalid', `invalid input: ${detail}`);
}

/** Parses a JSON array of strings passed on the command line (e.g. Airflow params rendered to JSON). */
export function parseJsonArray(raw: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new StageError('input_invalid', 'expected a JSON array of strings, got text that is not JSON');
  }
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) {
    throw new StageError('input_invalid', 'expected a JSON array of strings');
  }
  return parsed;
}
