import fs from 'node:fs';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';

/**
 * Dependencies a bundle cannot carry, so they are imported from node_modules, where `pnpm deploy --prod`
 * puts them: those that read files next to their own code at run time (PGlite's WASM module and data,
 * nodejs-whisper's whisper.cpp, fluent-ffmpeg's own source files), and those that import modules by a
 * name computed at run time (file-type loads strtok3 with `import(specifier)`). {@link bundleStage}
 * refuses a bundle with any other computed import. A stage names any others it has.
 */
export const UNBUNDLED_PACKAGES = [
  '@electric-sql/pglite',
  'nodejs-whisper',
  'fluent-ffmpeg',
  'file-type',
] as const;

/**
 * `require` for the CommonJS dependencies inside an ES module bundle (esbuild's ESM output has none),
 * resolving from the bundle's own folder, so the packages left out resolve from node_modules as before.
 */
const REQUIRE_SHIM =
  "import { createRequire as __pronieltsRequire } from 'node:module';\nconst require = __pronieltsRequire(import.meta.url);";

export interface BundleOptions {
  /** The package folder. */
  cwd: string;
  /** The built entry, relative to `cwd`. */
  entry?: string;
  /** Where the bundle goes, relative to `cwd`; emptied first. */
  outdir?: string;
  /** Packages to leave out besides {@link UNBUNDLED_PACKAGES}. */
  external?: string[];
}

export interface BundleResult {
  /** The bundle's entry file. */
  entry: string;
  /** Its files (entry and chunks) with their sizes in bytes. */
  files: Array<{ file: string; bytes: number }>;
  /** The packages left out, as the bundle imports them. */
  external: string[];
}

/**
 * Bundles a stage's built CLI with esbuild: one ES module for Node 24 with its dependencies inside,
 * code that is imported on demand (`await import(...)`) split into chunks loaded only when it runs.
 * Input is the TypeScript build (dist/), so the bundle is exactly what tsc emitted, joined.
 */
export async function bundleStage(o: BundleOptions): Promise<BundleResult> {
  const entry = path.resolve(o.cwd, o.entry ?? 'dist/cli.js');
  const outdir = path.resolve(o.cwd, o.outdir ?? 'dist/bundle');
  if (!fs.existsSync(entry))
    throw new Error(`${path.relative(o.cwd, entry)} does not exist: build the package first (tsc)`);
  fs.rmSync(outdir, { recursive: true, force: true });
  const external = [...UNBUNDLED_PACKAGES, ...(o.external ?? [])];
  const result = await build({
    absWorkingDir: o.cwd,
    entryPoints: { cli: entry },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    // Packages resolve as Node resolves them (platform "node", format "esm": the "node" and "import"
    // conditions); functions and classes keep their names for stack traces and profiles; nothing is
    // minified, so the bundle stays readable. Licence comments go to a .LEGAL.txt beside each file.
    minify: false,
    keepNames: true,
    external,
    banner: { js: REQUIRE_SHIM },
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const files = outputs(result.metafile, o.cwd);
  // What the bundle leaves out is imported from node_modules by name, from the bundle's folder: the
  // package must be able to resolve it (a dependency of its own, not only of a workspace package).
  const unresolvable = leftOutImports(result.metafile, external).filter(
    (name) => !resolvableFrom(o.cwd, name),
  );
  if (unresolvable.length > 0) {
    fs.rmSync(outdir, { recursive: true, force: true });
    throw new Error(
      `the bundle imports ${unresolvable.join(', ')} from node_modules, which ${o.cwd} cannot resolve: add ${unresolvable.length === 1 ? 'it' : 'them'} to its dependencies`,
    );
  }
  const computed = files.flatMap((f) =>
    computedImports(fs.readFileSync(path.resolve(o.cwd, f.file), 'utf8')),
  );
  if (computed.length > 0) {
    fs.rmSync(outdir, { recursive: true, force: true });
    throw new Error(
      `these dependencies import modules by a name computed at run time, which a bundle cannot hold: ${[...new Set(computed)].join(', ')}; leave them out (--external <package>, or UNBUNDLED_PACKAGES)`,
    );
  }
  const missing = files.flatMap((f) =>
    missingChunkNames(fs.readFileSync(path.resolve(o.cwd, f.file), 'utf8'), (chunk) => {
      const out = path.relative(o.cwd, path.resolve(path.dirname(path.resolve(o.cwd, f.file)), chunk));
      return exportsOf(result.metafile, o.cwd, out);
    }).map(
      (m) =>
        `${path.basename(f.file)} takes ${m.name} from ${m.chunk}, which exports only ${m.exports.join(', ') || 'nothing'}`,
    ),
  );
  if (missing.length > 0) {
    fs.rmSync(outdir, { recursive: true, force: true });
    throw new Error(
      `a module loaded on demand lacks names the code uses (a CommonJS package imported with import() keeps only its default export in a chunk; import it statically): ${missing.join('; ')}`,
    );
  }
  return { entry: path.join(outdir, 'cli.js'), files, external };
}

/** The export names esbuild recorded for the output file `rel` (relative to `cwd`). */
function exportsOf(meta: Metafile, cwd: string, rel: string): string[] | undefined {
  for (const [file, out] of Object.entries(meta.outputs))
    if (path.relative(cwd, path.resolve(cwd, file)) === rel) return out.exports;
  return undefined;
}

/** `{ a, b: c } = await import("./chunk.js")` and `(await import("./chunk.js")).a` in a bundle file. */
const DESTRUCTURED_CHUNK = /\{([^{}]*)\}\s*=\s*await\s+import\(\s*"(\.\/[^"]+)"\s*\)/g;
const ACCESSED_CHUNK = /\(\s*await\s+import\(\s*"(\.\/[^"]+)"\s*\)\s*\)\.([A-Za-z_$][\w$]*)/g;

/**
 * The names a bundle file takes from chunks it imports on demand that those chunks do not export.
 * `exportsOf` gives a chunk's export names (from the metafile), or undefined for a file it does not know.
 */
export function missingChunkNames(
  text: string,
  exportsOf: (chunk: string) => string[] | undefined,
): Array<{ chunk: string; name: string; exports: string[] }> {
  const uses: Array<{ chunk: string; name: string }> = [];
  for (const m of text.matchAll(DESTRUCTURED_CHUNK))
    for (const part of (m[1] ?? '').split(',')) {
      const name = part.trim().split(/[:=\s]/)[0] ?? '';
      if (name && !name.startsWith('...')) uses.push({ chunk: m[2] ?? '', name });
    }
  for (const m of text.matchAll(ACCESSED_CHUNK)) uses.push({ chunk: m[1] ?? '', name: m[2] ?? '' });
  return uses.flatMap((u) => {
    const exports = exportsOf(u.chunk);
    return exports && !exports.includes(u.name) ? [{ ...u, exports }] : [];
  });
}

/** The left-out packages the bundle imports (by package name). */
function leftOutImports(meta: Metafile, external: string[]): string[] {
  const names = new Set<string>();
  for (const out of Object.values(meta.outputs))
    for (const i of out.imports)
      if (i.external) {
        const parts = i.path.split('/');
        const name = i.path.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? '');
        if (external.includes(name)) names.add(name);
      }
  return [...names].sort();
}

/** Whether Node finds package `name` from `dir` (its node_modules, or a parent's). */
function resolvableFrom(dir: string, name: string): boolean {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'node_modules', name, 'package.json'))) return true;
    if (path.dirname(d) === d) return false;
  }
}

/** A dynamic import or require whose argument is not a string literal (comments before it skipped). */
const COMPUTED_IMPORT = /\b(?:import|__require)\(\s*(?:\/\*[\s\S]*?\*\/\s*)*(?!["'\s)])/g;
/** esbuild's marker before each bundled module: `// ../../node_modules/.pnpm/x@1/node_modules/x/lib/a.js`. */
const MODULE_MARKER = /^\/\/ (\S*node_modules\/\S+)$/gm;

/** The packages in a bundle file whose code has a computed import (our own code never does). */
export function computedImports(text: string): string[] {
  const markers = [...text.matchAll(MODULE_MARKER)].map((m) => ({ at: m.index, path: m[1] ?? '' }));
  const found: string[] = [];
  for (const m of text.matchAll(COMPUTED_IMPORT)) {
    // Not in a comment: a line comment before it on its line, or a doc-comment line.
    const line = text.slice(text.lastIndexOf('\n', m.index) + 1, m.index);
    if (line.includes('//') || /^\s*\*/.test(line)) continue;
    const marker = markers.filter((k) => k.at < m.index).at(-1);
    if (!marker) continue; // not inside a dependency
    const parts = marker.path
      .slice(marker.path.lastIndexOf('node_modules/') + 'node_modules/'.length)
      .split('/');
    found.push(parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? ''));
  }
  return found;
}

function outputs(meta: Metafile, cwd: string) {
  return Object.entries(meta.outputs)
    .filter(([file]) => file.endsWith('.js'))
    .map(([file, out]) => ({ file: path.relative(cwd, path.resolve(cwd, file)), bytes: out.bytes }))
    .sort((a, b) => (a.file < b.file ? -1 : 1));
}
