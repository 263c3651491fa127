import { describe, expect, it } from 'vitest';
import { StageError } from '../errors.ts';
import { BoolEnv } from './env-util.ts';
import { dbConfigFrom, parseEnv, sharedEnv, stageEnv, storageConfigFrom } from './index.ts';

function configError(env: NodeJS.ProcessEnv): string {
  try {
    parseEnv(sharedEnv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(StageError);
    expect((err as StageError).code).toBe('config_invalid');
    return (err as Error).message;
  }
  throw new Error('expected a config error');
}

describe('shared env', () => {
  it('defaults to the embedded folder store and PGlite', () => {
    const env = parseEnv(sharedEnv, { PRONIELTS_DATA_DIR: '/data' });
    expect(storageConfigFrom(env)).toEqual({ kind: 'folder', root: '/data/objects', bucketPrefix: '' });
    expect(dbConfigFrom(env)).toEqual({ kind: 'pglite', dataDir: '/data/db' });
  });

  it('reads the seed MinIO endpoint as host:port', () => {
    const env = parseEnv(sharedEnv, {
      MINIO_ENDPOINT: 'minio.minio.svc.cluster.local:9000',
      MINIO_ACCESS_KEY: 'ak',
      MINIO_SECRET_KEY: 'sk',
    });
    expect(storageConfigFrom(env)).toMatchObject({
      kind: 's3',
      endPoint: 'minio.minio.svc.cluster.local',
      port: 9000,
      useSSL: false,
    });
  });

  it('names each missing credential in one line when an endpoint is set', () => {
    const msg = configError({ MINIO_ENDPOINT: 'minio:9000' });
    expect(msg).not.toContain('\n');
    expect(msg).toContain('MINIO_ACCESS_KEY: is required when MINIO_ENDPOINT is set');
    expect(msg).toContain('MINIO_SECRET_KEY: is required when MINIO_ENDPOINT is set');
  });

  it.each([
    [{ MINIO_ENDPOINT: 'not a host' }, 'MINIO_ENDPOINT: expected host:port'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL: expected a postgres:// or postgresql:// URL'],
    [{ MINIO_BUCKET_PREFIX: 'Staging' }, 'MINIO_BUCKET_PREFIX: expected lowercase'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: expected one of'],
    [{ DB_POOL_MAX: '0' }, 'DB_POOL_MAX: expected >= 1'],
    [{ DATABASE_URL: 'postgres://u:p@127.0.0.1:notaport/db' }, 'DATABASE_URL: does not parse as a URL'],
  ])('rejects %j naming the variable', (env, expected) => {
    expect(configError(env)).toContain(expected);
  });

  it('never echoes a rejected value', () => {
    expect(configError({ DATABASE_URL: 'mysql://user:topsecretpw@h/db' })).not.toContain('topsecretpw');
  });

  it('treats empty strings as unset', () => {
    const env = parseEnv(sharedEnv, { MINIO_ENDPOINT: '', DATABASE_URL: '' });
    expect(storageConfigFrom(env).kind).toBe('folder');
  });

  it('lets a stage add variables and keeps the shared rules', () => {
    const schema = stageEnv({ WHISPER_MODEL: BoolEnv.optional() });
    expect(() => parseEnv(schema, { MINIO_ENDPOINT: 'm:1' })).toThrow(/MINIO_SECRET_KEY/);
  });
});

describe('BoolEnv', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['off', false],
    ['', false],
  ])('%j → %s', (raw, value) => {
    expect(BoolEnv.parse(raw)).toBe(value);
  });

  it('rejects anything else instead of coercing it', () => {
    expect(BoolEnv.safeParse('maybe').success).toBe(false);
  });
});
