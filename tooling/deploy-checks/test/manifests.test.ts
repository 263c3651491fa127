import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadCatalog, REPO_ROOT } from '../src/catalog.ts';
import {
  built,
  type K8sObject,
  KUBERNETES_VERSION,
  OVERLAYS,
  overlayDir,
  parseObjects,
  TASK_PODS_KUSTOMIZATION,
  venvTool,
} from '../src/manifests.ts';
import {
  allowedEgress,
  gpuViolations,
  imageTagViolations,
  podSpecs,
  resourceViolations,
  secretViolations,
  securityViolations,
} from '../src/policy.ts';

const catalog = loadCatalog();
const TARGETS = [...OVERLAYS.map(overlayDir), TASK_PODS_KUSTOMIZATION];
const find = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not found`);
  return o as K8sObject & Record<string, any>;
};

function validateStrict(objects: K8sObject[]): { ok: boolean; output: string } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-validate-')), 'all.yaml');
  fs.writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  try {
    const output = execFileSync(
      venvTool('kubernetes-validate'),
      ['--strict', '--quiet', '--kubernetes-version', KUBERNETES_VERSION, file],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { ok: true, output };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

describe.each(TARGETS)('%s', (dir) => {
  it('builds with kustomize', () => {
    expect(built(dir).length).toBeGreaterThan(0);
  });

  it(`every object validates strictly (unknown fields rejected) against the Kubernetes ${KUBERNETES_VERSION} schemas`, () => {
    const res = validateStrict(built(dir));
    expect(res.output).toBe('');
    expect(res.ok).toBe(true);
  });

  it('every container runs as non-root with a read-only root filesystem and no capabilities', () => {
    expect(podSpecs(built(dir)).length).toBeGreaterThan(0);
    expect(securityViolations(built(dir))).toEqual([]);
  });

  it('every container has explicit cpu and memory requests and limits', () => {
    expect(resourceViolations(built(dir))).toEqual([]);
  });

  it('carries no Secret with data', () => {
    expect(secretViolations(built(dir))).toEqual([]);
    expect(built(dir).filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});

describe('the policy checks catch what they are for', () => {
  it('schema validation rejects an unknown field and a wrong type', () => {
    const objs = built(overlayDir('production'));
    // kubernetes-validate reports the first error of each object: one mistake per object.
    find(objs, 'Deployment', 'ollama').spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    find(objs, 'Deployment', 'minio').spec.replicas = 'one';
    const res = validateStrict(objs);
    expect(res.ok).toBe(false);
    expect(res.output).toContain('imagePullPolicyy');
    expect(res.output).toContain("'one'");
  });

  it('flags root, a writable root filesystem, missing limits, latest and Secret data', () => {
    const objs = built(overlayDir('production'));
    const dep = find(objs, 'Deployment', 'ollama');
    const c = dep.spec.template.spec.containers[0];
    dep.spec.template.spec.securityContext.runAsUser = 0;
    c.securityContext.readOnlyRootFilesystem = false;
    delete c.resources.limits.memory;
    c.image = 'ollama/ollama:latest';
    objs.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'minio' },
      stringData: { password: 'x' },
    });
    expect(securityViolations(objs).join('\n')).toMatch(/ollama.*runAsUser[\s\S]*ollama.*writable/);
    expect(resourceViolations(objs)).toEqual(['Deployment/ollama/ollama container ollama: no memory limit']);
    expect(imageTagViolations(objs)).toEqual([
      'Deployment/ollama/ollama container ollama: image ollama/ollama:latest uses latest',
    ]);
    expect(secretViolations(objs)).toEqual(['Secret/minio/s carries data']);
  });
});

describe('production overlay', () => {
  const objs = built(overlayDir('production'));

  it('names an explicit, non-latest tag for every image', () => {
    expect(imageTagViolations(objs)).toEqual([]);
    expect(JSON.stringify(objs)).not.toMatch(/:latest"/);
  });

  it('runs Ollama on a GPU node with one GPU, OLLAMA_KEEP_ALIVE and probes on its API', () => {
    const dep = find(objs, 'Deployment', 'ollama');
    expect(gpuViolations(dep.spec.template.spec, 'ollama')).toEqual([]);
    const c = dep.spec.template.spec.containers[0];
    expect(c.env.find((e: any) => e.name === 'OLLAMA_KEEP_ALIVE')?.value).toBe('24h');
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'])
      expect(c[probe].httpGet.path).toBe('/api/version');
    expect(find(objs, 'PersistentVolumeClaim', 'ollama-pvc').spec.resources.requests.storage).toBe('50Gi');
  });

  it('gives MinIO a 100Gi volume, API and console ports, probes and credentials from a Secret', () => {
    expect(find(objs, 'PersistentVolumeClaim', 'minio-pvc').spec.resources.requests.storage).toBe('100Gi');
    expect(find(objs, 'Service', 'minio').spec.ports.map((p: any) => p.port)).toEqual([9000, 9001]);
    const c = find(objs, 'Deployment', 'minio').spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet.path).toBe('/minio/health/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/minio/health/live');
    const creds = c.env.filter((e: any) => e.name.startsWith('MINIO_ROOT_'));
    expect(creds.map((e: any) => e.valueFrom.secretKeyRef.name)).toEqual(['minio-secrets', 'minio-secrets']);
  });

  it('routes Airflow and the MinIO console through TLS ingresses with the seed annotations', () => {
    const ingresses = objs.filter((o) => o.kind === 'Ingress') as any[];
    expect(ingresses.map((i) => i.spec.rules[0].host).sort()).toEqual([
      'airflow.insigne.tech',
      'minio.insigne.tech',
    ]);
    for (const i of ingresses) {
      expect(i.metadata.annotations).toMatchObject({
        'traefik.ingress.kubernetes.io/router.tls': 'true',
        'cert-manager.io/cluster-issuer': 'letsencrypt-production',
      });
      expect(i.spec.tls[0].hosts).toEqual([i.spec.rules[0].host]);
    }
  });

  it('has the seed backups: a daily pg_dump of the automation DB and a weekly bucket copy', () => {
    const dump = find(objs, 'CronJob', 'automation-db-backup');
    expect(dump.spec.schedule).toMatch(/^\S+ \S+ \* \* \*$/);
    expect(dump.spec.jobTemplate.spec.template.spec.containers[0].args[0]).toContain('pg_dump');
    expect(dump.spec.jobTemplate.spec.template.spec.containers[0].args[0]).toContain('-mtime +30');
    const mirror = find(objs, 'CronJob', 'minio-bucket-backup');
    expect(mirror.spec.schedule).toMatch(/^\S+ \S+ \* \* [0-6]$/);
    const script = mirror.spec.jobTemplate.spec.template.spec.containers[0].args[0];
    for (const b of ['pronielts-raw', 'pronielts-transcriptions', 'pronielts-processed'])
      expect(script).toContain(b);
    expect(script).toContain('--older-than 28d');
  });

  it('initialises the buckets with the project CLI from a project image, waiting on the server', () => {
    const job = find(objs, 'Job', 'minio-bucket-init');
    const c = job.spec.template.spec.containers[0];
    expect(c.image).toMatch(/^pronielts\/exporter:/);
    expect(c.command.join(' ')).toContain('@pronielts/shared/dist/storage/buckets-cli.js');
    expect(c.args).toContain('--wait');
  });
});

describe('automation-tasks', () => {
  const objs = built(overlayDir('production'));
  const taskPods = built(TASK_PODS_KUSTOMIZATION);

  it('the transcriber template asks for a GPU node and one GPU', () => {
    const pod = find(taskPods, 'Pod', 'pronielts-transcribe');
    expect(gpuViolations(pod.spec, 'transcribe')).toEqual([]);
  });

  it('NetworkPolicies let every stage pod reach DNS, MinIO, Ollama and PostgreSQL only, and nothing in', () => {
    const expected = [
      'ns:kube-system TCP/53',
      'ns:kube-system UDP/53',
      'ns:minio TCP/9000',
      'ns:ollama TCP/11434',
      'ns:postgres TCP/5432',
    ];
    for (const pod of taskPods) {
      const r = allowedEgress(objs, 'automation-tasks', pod.metadata.labels ?? {});
      expect(r.denyAllIngress, pod.metadata.name).toBe(true);
      expect(r.denyAllEgress, pod.metadata.name).toBe(true);
      expect(r.egress, pod.metadata.name).toEqual(expected);
    }
    // Pods Airflow creates with labels of its own are covered too.
    expect(allowedEgress(objs, 'automation-tasks', { 'airflow-worker': 'x' }).egress).toEqual(expected);
    const ingressRules = objs
      .filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'automation-tasks')
      .flatMap((o: any) => o.spec.ingress ?? []);
    expect(ingressRules).toEqual([]);
  });

  it('an extra allow-all egress policy would show up in the check', () => {
    objs.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'leak', namespace: 'automation-tasks' },
      spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] },
    });
    expect(allowedEgress(objs, 'automation-tasks', {}).egress).toContain('anywhere TCP/*');
  });

  it('lets Airflow workers launch and watch pods there, and nothing more', () => {
    const role = find(objs, 'Role', 'airflow-pod-launcher');
    expect(role.metadata.namespace).toBe('automation-tasks');
    const resources = role.rules.flatMap((r: any) => r.resources).sort();
    expect(resources).toEqual(['events', 'pods', 'pods/exec', 'pods/log']);
    for (const r of role.rules) {
      expect(r.apiGroups).toEqual(['']);
      expect(r.verbs).not.toContain('*');
    }
    expect(role.rules.find((r: any) => r.resources.includes('events')).verbs).toEqual([
      'get',
      'list',
      'watch',
    ]);
    const binding = find(objs, 'RoleBinding', 'airflow-pod-launcher');
    expect(binding.subjects.map((s: any) => `${s.namespace}/${s.name}`)).toEqual([
      'airflow/airflow-worker',
      'airflow/airflow-triggerer',
    ]);
    expect(objs.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(false);
    const sa = find(objs, 'ServiceAccount', catalog.serviceAccountName);
    expect(sa.metadata.namespace).toBe(catalog.namespace);
    expect(sa.automountServiceAccountToken).toBe(false);
  });

  it('has a ResourceQuota with room for the largest stage and a LimitRange for unsized containers', () => {
    const quota = find(objs, 'ResourceQuota', 'automation-tasks').spec.hard;
    const transcribe = catalog.stages.transcribe?.resources;
    expect(quota['requests.nvidia.com/gpu']).toBe('2');
    expect(parseInt(quota['limits.memory'], 10)).toBeGreaterThan(
      parseInt(transcribe?.limits.memory ?? '', 10),
    );
    const lr = find(objs, 'LimitRange', 'automation-tasks').spec.limits[0];
    expect(lr.default).toBeDefined();
    expect(lr.defaultRequest).toBeDefined();
  });
});

describe('models', () => {
  const objs = built(overlayDir('production'));

  it("the whisper fetch job downloads the catalog's WHISPER_MODEL and checks the SHA-1 whisper.cpp publishes", async () => {
    const cm = find(objs, 'ConfigMap', 'whisper-model');
    expect(cm.data.model).toBe(catalog.stages.transcribe?.env?.WHISPER_MODEL);
    // The table in models/README.md of the whisper.cpp that nodejs-whisper bundles (what the image builds).
    const { createRequire } = await import('node:module');
    const req = createRequire(path.join(REPO_ROOT, 'packages/transcriber/package.json'));
    const readme = fs.readFileSync(
      path.join(path.dirname(req.resolve('nodejs-whisper/package.json')), 'cpp/whisper.cpp/models/README.md'),
      'utf8',
    );
    const row = readme.split('\n').find((l) => l.startsWith(`| ${cm.data.model} `));
    expect(row).toBeDefined();
    expect(row).toContain(`\`${cm.data.sha1}\``);
    const script = find(objs, 'Job', 'whisper-model-fetch').spec.template.spec.containers[0].args[0];
    expect(script).toMatch(/sha1sum -c -\n\s*mv "\$file.part" "\$file"/);
    const pvc = find(objs, 'PersistentVolumeClaim', 'whisper-model-cache');
    expect(pvc.metadata.namespace).toBe(catalog.namespace);
  });

  it("Ollama preloads the catalog's LLM_MODEL and LLM_FALLBACK_MODEL, waiting on the API, not a fixed sleep", () => {
    const cm = find(objs, 'ConfigMap', 'ollama-models');
    expect(cm.data.models.split(' ')).toEqual([catalog.llmEnv.LLM_MODEL, catalog.llmEnv.LLM_FALLBACK_MODEL]);
    const script = find(objs, 'Job', 'ollama-model-preload').spec.template.spec.containers[0].args[0];
    expect(script).toMatch(/until ollama list .*; do sleep 2; done/);
    expect(script).not.toMatch(/^\s*sleep \d+\s*$/m);
  });
});

describe('local overlay', () => {
  it('runs Ollama without a GPU and keeps every image off latest', () => {
    const objs = built(overlayDir('local'));
    const spec = find(objs, 'Deployment', 'ollama').spec.template.spec;
    expect(JSON.stringify(spec)).not.toContain('nvidia.com/gpu');
    expect(imageTagViolations(objs)).toEqual([]);
  });
});

describe('k8s/secrets examples and the Airflow values', () => {
  it('the example Secrets have every value empty, and every Secret a manifest references is among them', () => {
    const examples = parseObjects(
      fs.readFileSync(path.join(REPO_ROOT, 'k8s/secrets/secrets.example.yaml'), 'utf8'),
    );
    expect(secretViolations(examples)).toEqual([]);
    const known = new Set(
      examples.flatMap((s: any) =>
        Object.keys(s.stringData).map((k) => `${s.metadata.namespace}/${s.metadata.name}/${k}`),
      ),
    );
    const refs = new Set<string>();
    for (const dir of TARGETS) {
      for (const p of podSpecs(built(dir))) {
        for (const c of (p.spec.containers as any[]) ?? []) {
          for (const e of c.env ?? []) {
            const r = e.valueFrom?.secretKeyRef;
            if (r) refs.add(`${p.namespace}/${r.name}/${r.key}`);
          }
        }
      }
    }
    expect(refs.size).toBeGreaterThan(5);
    for (const r of refs) expect(known, r).toContain(r);
  });

  it('Airflow values: Airflow 3 with the KubernetesExecutor, secrets by name only, resources everywhere', () => {
    const v = parse(fs.readFileSync(path.join(REPO_ROOT, 'k8s/airflow/values.yaml'), 'utf8'));
    expect(v.executor).toBe('KubernetesExecutor');
    expect(v.airflowVersion).toMatch(/^3\./);
    expect(v.defaultAirflowTag).toBe(v.airflowVersion);
    expect(v.webserver).toBeUndefined(); // Airflow 3: apiServer
    for (const k of ['fernetKeySecretName', 'apiSecretKeySecretName', 'jwtSecretName'])
      expect(v[k]).toBe('airflow-secrets');
    for (const k of ['fernetKey', 'apiSecretKey', 'webserverSecretKey']) expect(v[k]).toBeUndefined();
    for (const c of ['apiServer', 'scheduler', 'dagProcessor', 'triggerer', 'workers']) {
      expect(v[c].resources.requests.cpu, c).toBeDefined();
      expect(v[c].resources.limits.memory, c).toBeDefined();
    }
    expect(v.config.kubernetes).toBeUndefined(); // renamed [kubernetes_executor]
    expect(v.config.kubernetes_executor.namespace).toBe('airflow');
  });
});
