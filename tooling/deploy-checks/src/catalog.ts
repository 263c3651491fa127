import fs from 'node:fs';
import path from 'node:path';

/**
 * The stage catalog (dags/stage_catalog.json, owned by the lead): how every pipeline task runs as a pod.
 * The DAGs and the k8s pod templates are both derived from it; this is the read side for k8s/.
 */

export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');
export const CATALOG_PATH = path.join(REPO_ROOT, 'dags/stage_catalog.json');

export interface Resources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

export interface CatalogVolume {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  emptyDir?: { sizeLimit?: string };
  persistentVolumeClaim?: { claimName: string };
}

export interface CatalogStage {
  image: string;
  imageTagSuffix?: string;
  args: string[];
  llm?: boolean;
  resources: Resources;
  gpu?: {
    nodeSelector: Record<string, string>;
    tolerations: Array<Record<string, string>>;
    pool?: string;
  };
  durationEstimateMinutes: [number, number];
  timeoutMinutes: number;
  env?: Record<string, string>;
  volumes: CatalogVolume[];
}

export interface Catalog {
  version: number;
  namespace: string;
  serviceAccountName: string;
  podSecurityContext: Record<string, unknown>;
  containerSecurityContext: Record<string, unknown>;
  env: Record<string, string>;
  secretEnv: Array<{ name: string; secret: string; key: string }>;
  llmEnv: Record<string, string>;
  stages: Record<string, CatalogStage>;
}

export function loadCatalog(file = CATALOG_PATH): Catalog {
  const catalog = JSON.parse(fs.readFileSync(file, 'utf8')) as Catalog;
  if (catalog.version !== 1) throw new Error(`${file}: unsupported catalog version ${catalog.version}`);
  return catalog;
}

/** Every env var of a stage's container in pod order: shared, the stage's own, LLM, then secret refs. */
export function stageEnv(catalog: Catalog, stage: CatalogStage): Array<Record<string, unknown>> {
  const plain = { ...catalog.env, ...(stage.env ?? {}), ...(stage.llm ? catalog.llmEnv : {}) };
  return [
    ...Object.entries(plain).map(([name, value]) => ({ name, value })),
    ...catalog.secretEnv.map((s) => ({
      name: s.name,
      valueFrom: { secretKeyRef: { name: s.secret, key: s.key } },
    })),
  ];
}
