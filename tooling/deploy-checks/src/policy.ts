import type { K8sObject } from './manifests.ts';

/**
 * The deployment policies as plain functions over manifests: each returns its violations (empty = ok),
 * so a test can show a policy catches a bad manifest as well as pass the good ones.
 */

type Obj = Record<string, unknown>;
export interface PodSpecRef {
  where: string;
  spec: Obj;
  labels: Record<string, string>;
  namespace: string | undefined;
}

/** Every pod spec in the objects: Pods, workload templates and CronJob job templates. */
export function podSpecs(objects: K8sObject[]): PodSpecRef[] {
  const out: PodSpecRef[] = [];
  for (const o of objects) {
    const where = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const spec = o.spec as Obj | undefined;
    let template: Obj | undefined;
    if (o.kind === 'Pod') template = { metadata: o.metadata, spec };
    else if (['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet'].includes(o.kind))
      template = spec?.template as Obj;
    else if (o.kind === 'CronJob') template = ((spec?.jobTemplate as Obj)?.spec as Obj)?.template as Obj;
    if (!template) continue;
    out.push({
      where,
      spec: template.spec as Obj,
      labels: ((template.metadata as Obj | undefined)?.labels ?? {}) as Record<string, string>,
      namespace: o.metadata.namespace,
    });
  }
  return out;
}

function containersOf(spec: Obj): Obj[] {
  return [...((spec.initContainers as Obj[]) ?? []), ...((spec.containers as Obj[]) ?? [])];
}

/** Non-root, read-only root filesystem, no privilege escalation, all capabilities dropped, seccomp. */
export function securityViolations(objects: K8sObject[]): string[] {
  const v: string[] = [];
  for (const p of podSpecs(objects)) {
    const psc = (p.spec.securityContext ?? {}) as Obj;
    for (const c of containersOf(p.spec)) {
      const at = `${p.where} container ${c.name}`;
      const sc = (c.securityContext ?? {}) as Obj;
      const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
      const runAsUser = (sc.runAsUser ?? psc.runAsUser) as number | undefined;
      if (runAsNonRoot !== true) v.push(`${at}: runAsNonRoot is not true`);
      if (runAsUser === undefined || runAsUser === 0) v.push(`${at}: no non-zero runAsUser`);
      if (sc.readOnlyRootFilesystem !== true) v.push(`${at}: root filesystem is writable`);
      if (sc.allowPrivilegeEscalation !== false) v.push(`${at}: privilege escalation allowed`);
      const drop = ((sc.capabilities as Obj | undefined)?.drop ?? []) as string[];
      if (!drop.includes('ALL')) v.push(`${at}: capabilities not dropped (drop: [ALL])`);
      if ((sc.capabilities as Obj | undefined)?.add) v.push(`${at}: adds capabilities`);
      if (sc.privileged === true) v.push(`${at}: privileged`);
      const seccomp = ((sc.seccompProfile ?? psc.seccompProfile) as Obj | undefined)?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') v.push(`${at}: no seccomp profile`);
    }
  }
  return v;
}

/** Explicit cpu and memory requests and limits on every container. */
export function resourceViolations(objects: K8sObject[]): string[] {
  const v: string[] = [];
  for (const p of podSpecs(objects)) {
    for (const c of containersOf(p.spec)) {
      const r = (c.resources ?? {}) as { requests?: Obj; limits?: Obj };
      for (const kind of ['requests', 'limits'] as const) {
        for (const res of ['cpu', 'memory']) {
          if (!r[kind]?.[res]) v.push(`${p.where} container ${c.name}: no ${res} ${kind.slice(0, -1)}`);
        }
      }
    }
  }
  return v;
}

/** Every image names an explicit tag (or digest) that is not `latest`. */
export function imageTagViolations(objects: K8sObject[]): string[] {
  const v: string[] = [];
  for (const p of podSpecs(objects)) {
    for (const c of containersOf(p.spec)) {
      const image = String(c.image ?? '');
      if (image.includes('@sha256:')) continue;
      const lastSegment = image.slice(image.lastIndexOf('/') + 1);
      const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : '';
      if (!tag) v.push(`${p.where} container ${c.name}: image ${image} has no tag`);
      else if (tag === 'latest' || tag.startsWith('latest-'))
        v.push(`${p.where} container ${c.name}: image ${image} uses latest`);
    }
  }
  return v;
}

/** Secrets are referenced, never carried: no Secret object with data or stringData. */
export function secretViolations(objects: K8sObject[]): string[] {
  return objects
    .filter((o) => o.kind === 'Secret')
    .filter((o) => {
      const values = [...Object.values((o.data ?? {}) as Obj), ...Object.values((o.stringData ?? {}) as Obj)];
      return values.some((x) => x !== '' && x !== null);
    })
    .map((o) => `Secret/${o.metadata.namespace}/${o.metadata.name} carries data`);
}

/** A pod asks for a GPU and is scheduled onto (and tolerates) GPU nodes. */
export function gpuViolations(spec: Obj, where: string): string[] {
  const v: string[] = [];
  const c = (spec.containers as Obj[])[0] ?? {};
  const r = (c.resources ?? {}) as { requests?: Obj; limits?: Obj };
  if (String(r.requests?.['nvidia.com/gpu'] ?? '') !== '1') v.push(`${where}: no nvidia.com/gpu request`);
  if (String(r.limits?.['nvidia.com/gpu'] ?? '') !== '1') v.push(`${where}: no nvidia.com/gpu limit`);
  if ((spec.nodeSelector as Obj | undefined)?.['nvidia.com/gpu.present'] !== 'true')
    v.push(`${where}: no GPU node selector`);
  const tolerations = (spec.tolerations ?? []) as Obj[];
  if (!tolerations.some((t) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule'))
    v.push(`${where}: does not tolerate the GPU taint`);
  return v;
}

function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  const ml = (selector?.matchLabels ?? {}) as Record<string, string>;
  if (selector?.matchExpressions) return false; // not used here; treat as not matching
  return Object.entries(ml).every(([k, val]) => labels[k] === val);
}

/** The egress destinations (namespace + port) a pod with these labels may reach in `namespace`. */
export function allowedEgress(
  objects: K8sObject[],
  namespace: string,
  labels: Record<string, string>,
): { denyAllIngress: boolean; denyAllEgress: boolean; egress: string[] } {
  const policies = objects.filter(
    (o) =>
      o.kind === 'NetworkPolicy' &&
      o.metadata.namespace === namespace &&
      selects((o.spec as Obj).podSelector as Obj, labels),
  );
  const types = (o: K8sObject) => ((o.spec as Obj).policyTypes ?? []) as string[];
  const egress = new Set<string>();
  for (const p of policies) {
    for (const rule of ((p.spec as Obj).egress ?? []) as Obj[]) {
      const ports = ((rule.ports ?? [{}]) as Obj[]).map((x) => `${x.protocol ?? 'TCP'}/${x.port ?? '*'}`);
      const peers = (rule.to ?? [{}]) as Obj[];
      for (const peer of peers) {
        const ns = ((peer.namespaceSelector as Obj | undefined)?.matchLabels as Obj | undefined)?.[
          'kubernetes.io/metadata.name'
        ];
        const dest = peer.ipBlock
          ? `ip:${(peer.ipBlock as Obj).cidr}`
          : ns
            ? `ns:${ns}`
            : peer.podSelector
              ? `ns:${namespace}`
              : 'anywhere';
        for (const port of ports) egress.add(`${dest} ${port}`);
      }
    }
  }
  return {
    denyAllIngress: policies.some((p) => types(p).includes('Ingress')),
    denyAllEgress: policies.some((p) => types(p).includes('Egress')),
    egress: [...egress].sort(),
  };
}
