import { spawnSync } from 'node:child_process';
import { usage } from '@pronielts/shared/stage';
import { describe, expect, it } from 'vitest';
import { exportStage, validateStage } from './stage.ts';

describe('exporter phases', () => {
  it('has a validate phase and an export phase, each with its own --help', () => {
    expect(validateStage.name).toBe('validate');
    expect(exportStage.name).toBe('export');
    expect(usage(exportStage)).toContain('--release <bool>');
  });

  it('parses --release as a boolean, defaulting to true', () => {
    const runId = 'r' as never;
    expect(exportStage.input({ runId, values: {}, positionals: [] }).release).toBe(true);
    expect(exportStage.input({ runId, values: { release: 'false' }, positionals: [] }).release).toBe(false);
    expect(() => exportStage.input({ runId, values: { release: 'perhaps' }, positionals: [] })).toThrow();
  });
});

describe('pronielts-exporter CLI', () => {
  it.each([
    [['--help'], 0, 'Usage: pronielts-exporter <validate|export|quality-check>'],
    [['quality-check', '--help'], 0, 'QUALITY_MAX_RELEASE_AGE_HOURS'],
    [['export', '--help'], 0, 'Usage: pronielts-exporter export --run-id <id>'],
    [['publish'], 2, 'unknown phase'],
  ])('%j exits %i', (args, code, text) => {
    const res = spawnSync(process.execPath, ['src/cli.ts', ...args], { encoding: 'utf8' });
    expect(res.status).toBe(code);
    expect(res.stdout + res.stderr).toContain(text);
  });
});
