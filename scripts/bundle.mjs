// Bundles the compiled CLI (dist/src/cli/main.js, from tsc) into one ES module, dist/cli/rallycut.mjs, so a
// CLI call loads one file instead of ~180 modules: on Node 20 module loading, not the engine, dominated a
// no-op `repro`. Packages stay external (loaded from node_modules, most of them lazily) except the small
// pure-JS ones every command needs. Workers and data files are still found in dist/ and the package.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** Loaded by every command: inlining them saves their own module graphs (yaml alone is ~90 CommonJS files). */
const INLINED = new Set(['yaml', '@dagrejs/graphlib']);
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})].filter((name) => !INLINED.has(name));

/**
 * A hash of the compiled engine and stages/: the key of the parse cache's records (src/parsed-cache.ts), so a
 * record written by other code (another build, a changed handler's schema) is never taken for a parse.
 */
function buildId() {
  const hash = createHash('sha256');
  for (const dir of ['src', 'stages']) {
    const base = join(root, 'dist', dir);
    const files = readdirSync(base, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.js'))
      .sort();
    for (const f of files)
      hash
        .update(`${dir}/${f}\0`)
        .update(readFileSync(join(base, f)))
        .update('\0');
  }
  return hash.digest('hex').slice(0, 32);
}

const outdir = join(root, 'dist', 'cli');
rmSync(outdir, { recursive: true, force: true }); // chunk names change with their content: no stale ones left

const id = buildId();
const result = await build({
  entryPoints: { rallycut: join(root, 'dist', 'src', 'cli', 'main.js') },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true, // modules behind `await import()` stay in their own chunks, loaded only when used
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // Whitespace and syntax only: names stay readable in stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  // yaml's CommonJS calls require(): give the bundle a real one.
  banner: { js: "import { createRequire as __rallycutCreateRequire } from 'node:module'; const require = __rallycutCreateRequire(import.meta.url);" },
  define: { RALLYCUT_BUILD_ID: JSON.stringify(id) },
  metafile: true,
  logLevel: 'warning',
});

// Which output files hold the inlined `yaml` package: test/perf/startup-imports.test.ts checks that a no-op
// repro/status loads none of them.
const yamlChunks = Object.entries(result.metafile.outputs)
  .filter(([, out]) => Object.keys(out.inputs).some((input) => /(^|\/)node_modules\/yaml\//.test(input)))
  .map(([file]) => basename(file))
  .sort();
writeFileSync(join(outdir, 'chunks.json'), JSON.stringify({ yaml: yamlChunks }, null, 2) + '\n');

// The daemon client, alone and as CommonJS: bin/rallycut loads it before the CLI, so a no-op the project
// daemon answers costs Node's start and a few file calls (src/daemon/client.ts).
await build({
  entryPoints: [join(root, 'dist', 'src', 'daemon', 'client.js')],
  outfile: join(outdir, 'daemon-client.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  define: { RALLYCUT_BUILD_ID: JSON.stringify(id) },
  logLevel: 'warning',
});
