import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleStage, UNBUNDLED_PACKAGES } from '../src/bundle.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pronielts-bundle-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A built package: an entry, a CommonJS module it imports, one it loads on demand, and an external. */
function fixture(): string {
  const dir = fs.mkdtempSync(path.join(root, 'pkg-'));
  const file = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  file('package.json', '{"type":"module"}');
  file(
    'dist/cli.js',
    [
      '#!/usr/bin/env node',
      "import { greet } from './greet.js';",
      "import counter from './counter.cjs';",
      'console.log(greet(counter.next()));',
      "if (process.argv[2] === 'lazy') console.log((await import('./lazy.js')).lazy());",
      "if (process.argv[2] === 'db') await import('@electric-sql/pglite');",
    ].join('\n'),
  );
  file('dist/greet.js', 'export const greet = (n) => "hello " + n;');
  file('dist/counter.cjs', 'let n = 0; module.exports = { next: () => ++n };');
  file('dist/lazy.js', "globalThis.lazyLoaded = true; export const lazy = () => 'lazy ran';");
  // The package left out of the bundle, installed: a stand-in that says it was loaded.
  file(
    'node_modules/@electric-sql/pglite/package.json',
    '{"name":"@electric-sql/pglite","type":"module","main":"index.js"}',
  );
  file('node_modules/@electric-sql/pglite/index.js', "throw new Error('PGlite stand-in loaded');");
  return dir;
}

const run = (entry: string, ...args: string[]) =>
  execFileSync(process.execPath, [entry, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('bundleStage', () => {
  it('bundles the entry and its modules (ESM and CommonJS) into dist/bundle, on-demand code in its own chunk', async () => {
    const dir = fixture();
    const r = await bundleStage({ cwd: dir });
    expect(r.entry).toBe(path.join(dir, 'dist/bundle/cli.js'));
    // The sources can go: the bundle holds everything it runs.
    fs.rmSync(path.join(dir, 'dist/greet.js'));
    fs.rmSync(path.join(dir, 'dist/counter.cjs'));
    fs.rmSync(path.join(dir, 'dist/lazy.js'));
    expect(run(r.entry)).toBe('hello 1\n');
    expect(run(r.entry, 'lazy')).toBe('hello 1\nlazy ran\n');
    const entryText = fs.readFileSync(r.entry, 'utf8');
    expect(entryText.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(entryText).not.toContain('lazy ran');
    expect(r.files.map((f) => f.file)).toContain('dist/bundle/cli.js');
    expect(r.files.length).toBeGreaterThan(1);
  });

  it('leaves the packages that load files next to their code out, imported by name', async () => {
    const dir = fixture();
    const r = await bundleStage({ cwd: dir, external: ['left-out-too'] });
    expect(r.external).toEqual([...UNBUNDLED_PACKAGES, 'left-out-too']);
    const text = r.files.map((f) => fs.readFileSync(path.join(dir, f.file), 'utf8')).join('\n');
    expect(text).toContain('import("@electric-sql/pglite")');
    // Resolved from node_modules at run time, like the unbundled build.
    expect(() => run(r.entry, 'db')).toThrow(/PGlite stand-in loaded/);
  });

  it('refuses a bundle that leaves out a package its own package cannot resolve', async () => {
    const dir = fixture();
    fs.rmSync(path.join(dir, 'node_modules/@electric-sql'), { recursive: true });
    await expect(bundleStage({ cwd: dir })).rejects.toThrow(
      /imports @electric-sql\/pglite from node_modules, which .* cannot resolve: add it to its dependencies/,
    );
  });

  it('refuses a dependency that imports a module by a computed name, unless it is left out', async () => {
    const dir = fixture();
    const dep = path.join(dir, 'node_modules/dyn-loader');
    fs.mkdirSync(dep, { recursive: true });
    fs.writeFileSync(
      path.join(dep, 'package.json'),
      '{"name":"dyn-loader","type":"module","main":"index.js"}',
    );
    fs.writeFileSync(path.join(dep, 'index.js'), 'export const load = (name) => import(/* ignore */ name);');
    fs.appendFileSync(
      path.join(dir, 'dist/cli.js'),
      "\nimport { load } from 'dyn-loader';\nexport { load };\n",
    );
    await expect(bundleStage({ cwd: dir })).rejects.toThrow(
      /computed at run time, which a bundle cannot hold: dyn-loader;/,
    );
    expect(fs.existsSync(path.join(dir, 'dist/bundle'))).toBe(false);
    const r = await bundleStage({ cwd: dir, external: ['dyn-loader'] });
    expect(run(r.entry)).toBe('hello 1\n');
  });

  it('refuses names taken from an on-demand CommonJS chunk that keeps only its default export', async () => {
    const dir = fixture();
    fs.writeFileSync(
      path.join(dir, 'dist/agent.cjs'),
      'module.exports = { Agent: class Agent {}, request() {} };',
    );
    fs.appendFileSync(
      path.join(dir, 'dist/cli.js'),
      "\nif (process.argv[2] === 'http') { const { Agent, request: r } = await import('./agent.cjs'); console.log(typeof Agent, typeof r); }\n",
    );
    await expect(bundleStage({ cwd: dir })).rejects.toThrow(
      /cli\.js takes Agent from \.\/agent-\w+\.js, which exports only default; cli\.js takes request from/,
    );
    expect(fs.existsSync(path.join(dir, 'dist/bundle'))).toBe(false);
    // The same module imported statically keeps its names.
    const text = fs
      .readFileSync(path.join(dir, 'dist/cli.js'), 'utf8')
      .replace(
        "const { Agent, request: r } = await import('./agent.cjs');",
        'const { Agent, request: r } = agentCjs;',
      );
    fs.writeFileSync(
      path.join(dir, 'dist/cli.js'),
      text.replace('#!/usr/bin/env node\n', "#!/usr/bin/env node\nimport agentCjs from './agent.cjs';\n"),
    );
    const r = await bundleStage({ cwd: dir });
    expect(run(r.entry, 'http')).toBe('hello 1\nfunction function\n');
  });

  it('refuses to run before the TypeScript build', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'empty-'));
    await expect(bundleStage({ cwd: dir })).rejects.toThrow(
      /dist\/cli.js does not exist: build the package first/,
    );
  });
});
