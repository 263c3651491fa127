import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadCatalog } from '../src/catalog.ts';
import { renderTaskPods, TASK_PODS_DIR } from '../src/pod-templates.ts';

const catalog = loadCatalog();
type Obj = Record<string, any>;
const template = (key: string): Obj =>
  parse(fs.readFileSync(path.join(TASK_PODS_DIR, `${key}.yaml`), 'utf8')) as Obj;

describe('k8s/base/task-pods: generated from the stage catalog', () => {
  it('the committed files are exactly the generator output (run `pnpm --filter @pronielts/deploy-checks generate`)', () => {
    const expected = renderTaskPods(catalog);
    const committed = fs
      .readdirSync(TASK_PODS_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(committed).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) {
      expect(fs.readFileSync(path.join(TASK_PODS_DIR, file), 'utf8'), file).toBe(text);
    }
  });

  it('has one Pod per catalog stage, in the catalog namespace, run by the task ServiceAccount', () => {
    expect(Object.keys(catalog.stages).length).toBeGreaterThanOrEqual(8);
    for (const key of Object.keys(catalog.stages)) {
      const pod = template(key);
      expect(pod.kind).toBe('Pod');
      expect(pod.metadata.namespace).toBe(catalog.namespace);
      expect(pod.metadata.labels['pronielts.io/stage']).toBe(key);
      expect(pod.spec.serviceAccountName).toBe(catalog.serviceAccountName);
      expect(pod.spec.restartPolicy).toBe('Never');
      expect(pod.spec.securityContext).toEqual(catalog.podSecurityContext);
    }
  });
});

// Checked field by field against the catalog (not against the generator), so a generator bug shows here.
describe.each(Object.entries(catalog.stages))('catalog ↔ k8s template agree: %s', (key, stage) => {
  const pod = template(key);
  const c = pod.spec.containers[0];

  it('runs the catalog image (tag suffix included) with the catalog args in the `base` container', () => {
    expect(pod.spec.containers).toHaveLength(1);
    expect(c.name).toBe('base');
    const [repo, tag] = c.image.split(':');
    expect(repo).toBe(stage.image);
    expect(tag.endsWith(stage.imageTagSuffix ?? '')).toBe(true);
    expect(c.args ?? []).toEqual(stage.args);
    expect(c.command).toBeUndefined(); // the image ENTRYPOINT is the stage CLI
  });

  it('has the catalog resources and security context', () => {
    expect(c.resources).toEqual(stage.resources);
    expect(c.securityContext).toEqual(catalog.containerSecurityContext);
    expect(pod.spec.activeDeadlineSeconds).toBe(stage.timeoutMinutes * 60);
  });

  it('has exactly the catalog env: shared, stage, LLM (if any) and secret references', () => {
    const plain = Object.fromEntries(
      c.env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]),
    );
    expect(plain).toEqual({ ...catalog.env, ...(stage.env ?? {}), ...(stage.llm ? catalog.llmEnv : {}) });
    const secrets = c.env
      .filter((e: Obj) => e.valueFrom)
      .map((e: Obj) => ({
        name: e.name,
        secret: e.valueFrom.secretKeyRef.name,
        key: e.valueFrom.secretKeyRef.key,
      }));
    expect(secrets).toEqual(catalog.secretEnv);
    expect(new Set(c.env.map((e: Obj) => e.name)).size).toBe(c.env.length);
  });

  it('mounts the catalog volumes (read-only where the catalog says so)', () => {
    expect(c.volumeMounts.map((m: Obj) => [m.name, m.mountPath, m.readOnly === true])).toEqual(
      stage.volumes.map((v) => [v.name, v.mountPath, v.readOnly === true]),
    );
    for (const v of stage.volumes) {
      const vol = pod.spec.volumes.find((x: Obj) => x.name === v.name);
      if (v.persistentVolumeClaim)
        expect(vol.persistentVolumeClaim.claimName).toBe(v.persistentVolumeClaim.claimName);
      else expect(vol.emptyDir).toEqual(v.emptyDir);
    }
  });

  it('is scheduled on GPU nodes exactly when the catalog says so', () => {
    if (stage.gpu) {
      expect(pod.spec.nodeSelector).toEqual(stage.gpu.nodeSelector);
      expect(pod.spec.tolerations).toEqual(stage.gpu.tolerations);
    } else {
      expect(pod.spec.nodeSelector).toBeUndefined();
      expect(JSON.stringify(c.resources)).not.toContain('nvidia.com/gpu');
    }
  });
});
