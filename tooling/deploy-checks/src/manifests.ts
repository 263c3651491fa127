import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './catalog.ts';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

export const OVERLAYS = ['local', 'production'] as const;
export type Overlay = (typeof OVERLAYS)[number];
/** The Kubernetes version the manifests are validated against (EKS standard support). */
export const KUBERNETES_VERSION = '1.33.0';

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, bin)));
}

/** A tool from the project's venv (scripts/requirements-test.txt), else from PATH. */
export function venvTool(name: string): string {
  const inVenv = path.join(REPO_ROOT, '.venv/bin', name);
  if (fs.existsSync(inVenv)) return inVenv;
  if (onPath(name)) return name;
  throw new Error(`${name} not found in .venv/bin or on PATH: run scripts/setup`);
}

/** `kubectl kustomize <dir>` (kustomize built into kubectl), or `kustomize build <dir>` without kubectl. */
export function kustomizeBuild(dir: string): string {
  const abs = path.resolve(REPO_ROOT, dir);
  const tools = process.env.PRONIELTS_TOOLS ?? path.join(os.homedir(), '.cache/pronielts/tools');
  const cached = path.join(tools, 'bin/kustomize'); // scripts/setup-deploy-tools, when there is no kubectl
  const [cmd, args] = onPath('kubectl')
    ? ['kubectl', ['kustomize', abs]]
    : [fs.existsSync(cached) ? cached : 'kustomize', ['build', abs]];
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join('\n'));
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

const cache = new Map<string, K8sObject[]>();
/** The objects an overlay (or k8s/base/task-pods) builds to. */
export function built(dir: string): K8sObject[] {
  let objs = cache.get(dir);
  if (!objs) {
    objs = parseObjects(kustomizeBuild(dir));
    cache.set(dir, objs);
  }
  return structuredClone(objs);
}

export const overlayDir = (o: Overlay) => `k8s/overlays/${o}`;
export const TASK_PODS_KUSTOMIZATION = 'k8s/base/task-pods';
