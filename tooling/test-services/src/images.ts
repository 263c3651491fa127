/** Container images for the testcontainers mode, pinned in one place. */
export const IMAGES = {
  postgres: 'postgres:15.14-alpine',
  minio: 'minio/minio:RELEASE.2025-09-07T16-13-09Z',
  versitygw: 'versity/versitygw:v1.8.0',
  moto: 'motoserver/moto:5.1.14',
  ollama: 'ollama/ollama:0.17.4',
} as const;
