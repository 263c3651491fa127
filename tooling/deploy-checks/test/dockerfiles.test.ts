import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog, REPO_ROOT } from '../src/catalog.ts';
import {
  dockerfilePath,
  entrypoints,
  instructions,
  readDockerfile,
  STAGE_IMAGES,
} from '../src/dockerfile.ts';
import { venvTool } from '../src/manifests.ts';

const HADOLINT_CONFIG = path.join(REPO_ROOT, '.hadolint.yaml');
function hadolint(file: string): { ok: boolean; output: string } {
  try {
    const output = execFileSync(venvTool('hadolint'), ['--no-color', '--config', HADOLINT_CONFIG, file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, output };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

it('every catalog image has a stage Dockerfile', () => {
  const repos = new Set(Object.values(loadCatalog().stages).map((s) => s.image));
  expect([...repos].sort()).toEqual(Object.values(STAGE_IMAGES).sort());
});

describe.each(Object.keys(STAGE_IMAGES))('packages/%s/Dockerfile', (pkg) => {
  const text = readDockerfile(pkg);
  const ins = instructions(text);

  it('passes hadolint (every finding fails, infos included)', () => {
    expect(hadolint(dockerfilePath(pkg))).toEqual({ ok: true, output: '' });
  });

  it('builds with turbo prune --docker and pnpm deploy --prod on a pinned Node 24 slim base', () => {
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim$/m);
    expect(ins).toContain(`RUN turbo prune @pronielts/${pkg} --docker`);
    expect(
      ins.some((i) =>
        i.includes(`pnpm deploy --prefer-offline --prod --legacy --filter @pronielts/${pkg} /out`),
      ),
    ).toBe(true);
    expect(ins.some((i) => /pnpm install --frozen-lockfile/.test(i))).toBe(true);
    expect(ins.filter((i) => /^FROM /.test(i)).length).toBeGreaterThanOrEqual(4); // multi-stage
  });

  it('runs the stage CLI under tini as uid 10001', () => {
    const eps = entrypoints(text);
    expect(eps.size).toBeGreaterThan(0);
    for (const [target, ep] of eps) {
      expect(ep, target).toEqual(['/usr/bin/tini', '--', 'node', '/app/dist/bundle/cli.js']);
    }
    expect(ins.filter((i) => i.startsWith('USER '))).toEqual(
      Array.from({ length: eps.size }, () => 'USER 10001:10001'),
    );
    expect(text).toMatch(/useradd --uid 10001 --gid 10001/);
  });
});

describe('stage-specific image contents', () => {
  it('the ingestor image ships ffmpeg', () => {
    expect(readDockerfile('ingestor')).toMatch(/apt-get install -y --no-install-recommends tini ffmpeg/);
  });

  it('the transcriber has cpu and cuda targets, each with whisper.cpp built at image build time', () => {
    const text = readDockerfile('transcriber');
    expect([...entrypoints(text).keys()].sort()).toEqual(['cpu', 'cuda']);
    expect(text).toMatch(/FROM \$\{CUDA_DEVEL_IMAGE\} AS whisper-cuda/);
    expect(text).toMatch(/ARG CUDA_DEVEL_IMAGE=nvidia\/cuda:[\d.]+-devel-/);
    expect(text).toMatch(/ARG CUDA_RUNTIME_IMAGE=nvidia\/cuda:[\d.]+-runtime-/);
    expect(text).toMatch(/scripts\/build-whisper --cuda/);
    expect(text).toMatch(/scripts\/build-whisper > /);
    expect(text).toMatch(/COPY --from=whisper-cuda \/usr\/local\/bin\/whisper-cli/);
    expect(text).toMatch(/COPY --from=whisper-cpu \/usr\/local\/bin\/whisper-cli/);
    expect(text).not.toMatch(/ENTRYPOINT.*build-whisper/);
  });

  it('the stage Dockerfiles differ only where their stages differ (decision 0011: five files, one shape)', () => {
    // Comments dropped and the package name made generic; what may differ per stage is the runtime's
    // apt packages and its ENV line (and the transcriber's whisper.cpp targets after the builder).
    const shape = (pkg: string) =>
      readDockerfile(pkg)
        .split('\n')
        .filter((l) => !l.startsWith('#') && l.trim() !== '')
        .map((l) => l.replaceAll(`@pronielts/${pkg}`, '@pronielts/STAGE'))
        .map((l) => (/apt-get install -y --no-install-recommends tini/.test(l) ? 'APT tini …' : l))
        .map((l) => (l.startsWith('ENV NODE_ENV=production') ? 'ENV …' : l));
    const builder = (lines: string[]) =>
      lines.slice(0, lines.findIndex((l) => l.includes('pnpm deploy')) + 1);
    const node = shape('classifier');
    for (const pkg of ['exporter', 'ingestor', 'paraphraser']) expect(shape(pkg), pkg).toEqual(node);
    expect(
      builder(
        shape('transcriber').filter((l) => l !== 'FROM ${NODE_IMAGE} AS node' && !l.startsWith('ARG CUDA')),
      ),
    ).toEqual(builder(node));
  });

  it('hadolint catches a bad Dockerfile (the lint can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hadolint-'));
    const file = path.join(dir, 'Dockerfile');
    fs.writeFileSync(
      file,
      'FROM node:latest\nRUN apt-get update && apt-get install -y curl\nCMD node x.js\n',
    );
    const res = hadolint(file);
    fs.rmSync(dir, { recursive: true });
    expect(res.ok).toBe(false);
    expect(res.output).toMatch(/DL3007/); // latest tag
    expect(res.output).toMatch(/DL3025/); // CMD not in JSON form
  });
});
