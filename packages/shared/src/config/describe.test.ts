import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envHelp, envRows, envTable, fillEnvRegions } from './describe.ts';
import { BoolEnv, IntEnv, OptionalString } from './env-util.ts';
import { sharedEnv, sharedEnvShape, stageEnv } from './index.ts';

const schema = stageEnv({
  LEVEL: z.enum(['low', 'high']).default('low').describe('How much.'),
  BANDS: z
    .string()
    .default('6,7')
    .transform((s) => s.split(','))
    .pipe(z.array(z.string()))
    .describe('Bands | comma-separated.'),
  FLAG: BoolEnv.default(false).describe('A switch.'),
  THREADS: IntEnv().default(3).meta({ description: 'Threads.', computedDefault: 'the <cores>' }),
  TOKEN: z.string().describe('Needed.'),
  PATH_TO: OptionalString.describe('Unset: on PATH.'),
});

describe('env rows', () => {
  it('read description, default, accepted values and whether a variable is required from the schema', () => {
    expect(envRows(schema, sharedEnvShape)).toEqual([
      { name: 'LEVEL', description: 'How much.', default: 'low', values: ['low', 'high'], required: false },
      { name: 'BANDS', description: 'Bands | comma-separated.', default: '6,7', required: false },
      {
        name: 'FLAG',
        description: 'A switch.',
        default: 'false',
        values: ['0', '1', 'true', 'false', 'yes', 'no', 'on', 'off', '""'],
        required: false,
      },
      {
        name: 'THREADS',
        description: 'Threads.',
        default: '3',
        computedDefault: 'the <cores>',
        required: false,
      },
      { name: 'TOKEN', description: 'Needed.', required: true },
      { name: 'PATH_TO', description: 'Unset: on PATH.', required: false },
    ]);
  });

  it('list all seven log levels the shared schema accepts, and describe every shared variable', () => {
    const rows = envRows(sharedEnv);
    expect(rows.find((r) => r.name === 'LOG_LEVEL')).toMatchObject({
      default: 'info',
      values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    });
    expect(rows.map((r) => r.name)).toEqual(Object.keys(sharedEnvShape));
    for (const r of rows) expect(r.description, r.name).toMatch(/\w/);
  });
});

describe('env rendering', () => {
  it('--help: one line per variable, with its values and the default this process has', () => {
    // The shared variables come first (stageEnv); the schema's own follow.
    expect(envHelp(schema).slice(Object.keys(sharedEnvShape).length)).toEqual([
      `  ${'LEVEL'.padEnd(34)} How much. [low|high] (default: low)`,
      `  ${'BANDS'.padEnd(34)} Bands | comma-separated. (default: 6,7)`,
      `  ${'FLAG'.padEnd(34)} A switch. [0|1|true|false|yes|no|on|off|""] (default: false)`,
      `  ${'THREADS'.padEnd(34)} Threads. (default: 3)`,
      `  ${'TOKEN'.padEnd(34)} Needed. (required)`,
      `  ${'PATH_TO'.padEnd(34)} Unset: on PATH.`,
    ]);
  });

  it('Markdown: a padded table, computed defaults as their text, | and < escaped', () => {
    const rows = envRows(schema, sharedEnvShape).filter((r) =>
      ['BANDS', 'THREADS', 'TOKEN'].includes(r.name),
    );
    expect(envTable(rows).split('\n')).toEqual([
      '| variable  | default      | description               |',
      '| --------- | ------------ | ------------------------- |',
      '| `BANDS`   | `6,7`        | Bands \\| comma-separated. |',
      '| `THREADS` | the \\<cores> | Threads.                  |',
      '| `TOKEN`   | required     | Needed.                   |',
    ]);
  });
});

describe('fillEnvRegions', () => {
  const readme = [
    '# A',
    '<!-- env:begin one -->',
    'stale',
    '<!-- env:end -->',
    'between',
    '<!-- env:begin two -->',
    '<!-- env:end -->',
    'end',
  ].join('\n');

  it('rewrites each marked region with its table and leaves the rest alone', () => {
    const out = fillEnvRegions(readme, { one: '| 1 |', two: '| 2 |' });
    expect(out).toBe(
      [
        '# A',
        '<!-- env:begin one -->',
        '',
        '| 1 |',
        '',
        '<!-- env:end -->',
        'between',
        '<!-- env:begin two -->',
        '',
        '| 2 |',
        '',
        '<!-- env:end -->',
        'end',
      ].join('\n'),
    );
    expect(fillEnvRegions(out, { one: '| 1 |', two: '| 2 |' })).toBe(out);
  });

  it('refuses a region it has no table for', () => {
    expect(() => fillEnvRegions(readme, { one: '| 1 |' })).toThrow('no env table named two');
  });
});
