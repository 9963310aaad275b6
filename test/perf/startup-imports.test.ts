// Start-up cost guard: `rallycut --help`, `status` and a no-op `repro` must not load the heavy packages
// (AWS SDK, pg, PGlite, onnxruntime, protobuf, vega, chokidar, playwright, ffmpeg wrappers, modal). Each
// costs tens to hundreds of ms per CLI call; they are loaded with `await import()` where a stage needs them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const HOOK = join(HERE, 'record-imports.mjs');
const HEAVY = [
  /^@aws-sdk\//,
  /^@smithy\//,
  /^pg$/,
  /^pg-/,
  /^@electric-sql\//,
  /^onnxruntime/,
  /^onnx-proto$/,
  /^protobufjs/,
  /^vega/,
  /^chokidar$/,
  /^playwright/,
  /^fluent-ffmpeg$/,
  /^modal$/,
  /^ajv$/,
  /^ajv\/(?!dist\/runtime\/|package\.json$)/,
];

/** Modules of stages/ (compiled, or the bundle's stages chunk): a shell-command pipeline must not load them. */
const STAGES_MODULE = /\/dist\/stages\/|\/stages\/[^/]+\/index\.[jt]s$|\/dist\/cli\/stages-[^/]+\.mjs$/;

/** The bundle's chunks that hold the inlined `yaml` package (written by scripts/bundle.mjs). */
const CHUNKS_FILE = join(REPO, 'dist', 'cli', 'chunks.json');
const yamlChunks = (): string[] => (JSON.parse(readFileSync(CHUNKS_FILE, 'utf8')) as { yaml: string[] }).yaml;

/** How `yaml` was loaded: as a package (dist/src, tsx) or as a bundle chunk that inlines it. */
function yamlLoads(imported: readonly string[], modules: readonly string[]): string[] {
  const chunks = existsSync(CHUNKS_FILE) ? yamlChunks() : [];
  return [...imported.filter((s) => s === 'yaml' || s.startsWith('yaml/')), ...modules.filter((u) => chunks.some((c) => u.endsWith(`/dist/cli/${c}`)))];
}

function importsOf(args: string[], cwd: string): { status: number | null; heavy: string[]; stages: string[]; yaml: string[]; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', HOOK, join(REPO, 'bin', 'rallycut'), ...args], {
    cwd,
    env: { ...process.env, RALLYCUT_PROGRESS: '0', NODE_OPTIONS: '' },
    encoding: 'utf8',
  });
  const imported = [...r.stderr.matchAll(/^IMPORT (\S+)$/gm)].map((m) => m[1]!);
  const modules = [...r.stderr.matchAll(/^MODULE (\S+)$/gm)].map((m) => m[1]!);
  return {
    status: r.status,
    heavy: [...new Set(imported.filter((s) => HEAVY.some((re) => re.test(s))))].sort(),
    stages: modules.filter((u) => STAGES_MODULE.test(u)),
    yaml: [...new Set(yamlLoads(imported, modules))],
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'rallycut-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CLI start-up loads no heavy package', () => {
  it('--help', () => {
    const r = importsOf(['--help'], dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Commands:');
    expect(r.heavy).toEqual([]);
  });

  it('status and a no-op repro of a shell-command pipeline', () => {
    writeFileSync(join(dir, 'in.txt'), 'hello\n');
    writeFileSync(join(dir, 'pipeline.yaml'), 'stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n');
    const first = importsOf(['repro'], dir);
    expect(first.status, first.stderr).toBe(0);
    const noop = importsOf(['repro'], dir);
    expect(noop.status, noop.stderr).toBe(0);
    expect(noop.heavy).toEqual([]);
    expect(noop.stages).toEqual([]); // no handler stage: stages/ stays unloaded
    const status = importsOf(['status'], dir);
    expect(status.status, status.stderr).toBe(0);
    expect(status.heavy).toEqual([]);
    expect(status.stages).toEqual([]);
  });

  // Only the bundle has a build id, which the parse cache needs (from dist/src or tsx every run parses).
  it.skipIf(!existsSync(CHUNKS_FILE))('a no-op repro and status load no yaml; an edited pipeline.yaml or params file does', () => {
    const yamlDir = mkdtempSync(join(tmpdir(), 'rallycut-startup-yaml-'));
    try {
      expect(yamlChunks().length).toBeGreaterThan(0); // yaml is inlined somewhere: the check below can fail
      writeFileSync(join(yamlDir, 'in.txt'), 'hello\n');
      writeFileSync(join(yamlDir, 'params.yaml'), 'n: 1\n');
      const pipeline = (n: string): string =>
        `stages:\n  copy:\n    cmd: cp in.txt out.txt && echo ${n}\n    deps: [in.txt]\n    params: [{params.yaml: [n]}]\n    outs: [out.txt]\n`;
      writeFileSync(join(yamlDir, 'pipeline.yaml'), pipeline('a'));
      const first = importsOf(['repro'], yamlDir);
      expect(first.status, first.stderr).toBe(0);
      expect(first.yaml.length, 'the first run parses').toBeGreaterThan(0);
      for (const cmd of ['repro', 'status']) {
        const noop = importsOf([cmd], yamlDir);
        expect(noop.status, noop.stderr).toBe(0);
        expect(noop.yaml, cmd).toEqual([]);
      }
      expect(importsOf(['status'], yamlDir).stdout).toContain('up to date');
      // An edit is seen (parsed again), and its diagnostics keep their positions.
      writeFileSync(join(yamlDir, 'params.yaml'), 'n: 2\n');
      const edited = importsOf(['status'], yamlDir);
      expect(edited.stdout).toContain('would run');
      expect(edited.yaml.length).toBeGreaterThan(0);
      writeFileSync(join(yamlDir, 'pipeline.yaml'), pipeline('a') + '    bogus: 1\n');
      const broken = importsOf(['status'], yamlDir);
      expect(broken.status).toBe(2);
      expect(broken.stderr).toMatch(/pipeline\.yaml:7:5/);
    } finally {
      rmSync(yamlDir, { recursive: true, force: true });
    }
  });

  it('a pipeline naming a handler, and a domain command, do load stages/', () => {
    const handlerDir = mkdtempSync(join(tmpdir(), 'rallycut-startup-handler-'));
    try {
      writeFileSync(join(handlerDir, 'pipeline.yaml'), 'stages:\n  seg:\n    handler: segments\n    with: {}\n');
      const status = importsOf(['status'], handlerDir);
      expect(status.stages.length, status.stderr).toBeGreaterThan(0);
      const help = importsOf(['train', 'prepare', '--help'], handlerDir);
      expect(help.status).toBe(0);
      expect(help.stages.length).toBeGreaterThan(0);
    } finally {
      rmSync(handlerDir, { recursive: true, force: true });
    }
  });
});
