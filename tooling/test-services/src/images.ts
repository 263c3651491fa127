/** Container images for the Docker-engine path, pinned in one place. */
export const IMAGES = {
  postgres: 'postgres:15.14-alpine',
  minio: 'minio/minio:RELEASE.2025-09-07T16-13-09Z',
  moto: 'motoserver/moto:5.1.14',
} as const;
