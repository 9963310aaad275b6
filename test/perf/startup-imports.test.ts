// Start-up cost guard: `rallycut --help`, `status` and a no-op `repro` must not load the heavy packages
// (AWS SDK, pg, PGlite, onnxruntime, protobuf, vega, chokidar, playwright, ffmpeg wrappers, modal). Each
// costs tens to hundreds of ms per CLI call; they are loaded with `await import()` where a stage needs them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const HOOK = join(HERE, 'record-imports.mjs');
const HEAVY = [/^@aws-sdk\//, /^@smithy\//, /^pg$/, /^pg-/, /^@electric-sql\//, /^onnxruntime/, /^onnx-proto$/, /^protobufjs/, /^vega/, /^chokidar$/, /^playwright/, /^fluent-ffmpeg$/, /^modal$/, /^ajv$/, /^ajv\/(?!dist\/runtime\/|package\.json$)/];

/** Modules of stages/ (compiled, or the bundle's stages chunk): a shell-command pipeline must not load them. */
const STAGES_MODULE = /\/dist\/stages\/|\/stages\/[^/]+\/index\.[jt]s$|\/dist\/cli\/stages-[^/]+\.mjs$/;

function importsOf(args: string[], cwd: string): { status: number | null; heavy: string[]; stages: string[]; stdout: string; stderr: string } {
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
