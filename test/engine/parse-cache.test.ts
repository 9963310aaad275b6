// The parse cache (src/parsed-cache.ts) must be invisible: with it, the bundled CLI prints the same bytes,
// exits the same way and writes the same pipeline.lock as with RALLYCUT_PARSE_CACHE=0, through edits of
// pipeline.yaml, a vars file and a params file, and a dep removed after the pipeline was cached.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonFaithful } from '../../src/parsed-cache.js';
import { distIsFresh } from '../rig.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUNDLE = join(REPO, 'dist', 'cli', 'rallycut.mjs');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function cli(cwd: string, args: string[], cache: boolean): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, RALLYCUT_PROGRESS: '0', RALLYCUT_PARSE_CACHE: cache ? '1' : '0', NODE_OPTIONS: '' };
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { cwd, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `args` with the cache (twice: the second run is a hit when the first stored a record) and without. */
function expectSame(cwd: string, args: string[]): ReturnType<typeof cli> {
  const slow = cli(cwd, args, false);
  expect(cli(cwd, args, true)).toEqual(slow);
  expect(cli(cwd, args, true)).toEqual(slow);
  return slow;
}

/** neg: a -0 param, which JSON cannot carry: its params file and the lock are never stored (slow path). */
function project(neg = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'rallycut-parse-cache-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'in.txt'), 'hello\n');
  writeFileSync(join(dir, 'vars.yaml'), 'sizes: [1, 2]\n');
  writeFileSync(join(dir, 'params.yaml'), `lr: 0.5\nneg: ${neg ? '-0.0' : '1'}\n`);
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    'vars: [vars.yaml]\nstages:\n  copy:\n    foreach: ${sizes}\n    do:\n      cmd: cp in.txt out-${item}.txt\n      deps: [in.txt]\n      params: [{params.yaml: [lr, neg]}]\n      outs: [out-${item}.txt]\n',
  );
  return dir;
}

describe.skipIf(!existsSync(BUNDLE) || !distIsFresh())('parse cache (bundled CLI)', () => {
  it('status, errors and their positions are the same with and without it', () => {
    const dir = project();
    expect(expectSame(dir, ['status', '--json']).status).toBe(0);
    expect(cli(dir, ['repro'], true).status).toBe(0);
    // The hits below are real: lock, pipeline and params are all stored.
    expect(
      readdirSync(join(dir, '.cache', 'parsed'))
        .map((f) => f.split('-')[0])
        .sort(),
    ).toEqual(['lock', 'params', 'pipeline']);
    expect(expectSame(dir, ['status', '--json']).stdout).toContain('"upToDate": true');
    writeFileSync(join(dir, 'vars.yaml'), 'sizes: [1, 2, 3]\n');
    expect(expectSame(dir, ['status']).stdout).toContain('copy@3: would run');
    writeFileSync(join(dir, 'params.yaml'), 'lr: 0.25\nneg: 1\n');
    expect(expectSame(dir, ['status']).stdout).toContain('copy@1: would run');
    unlinkSync(join(dir, 'in.txt'));
    const missing = expectSame(dir, ['status']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('in.txt');
    writeFileSync(join(dir, 'in.txt'), 'hello\n');
    writeFileSync(join(dir, 'params.yaml'), 'lr: [0.25\n');
    expect(expectSame(dir, ['status']).stderr).toMatch(/params\.yaml:\d+:\d+/);
    writeFileSync(join(dir, 'params.yaml'), 'lr: 0.25\nneg: 1\n');
    writeFileSync(join(dir, 'pipeline.lock'), readFileSync(join(dir, 'pipeline.lock'), 'utf8').replace('size: 6', 'size: -6'));
    expect(expectSame(dir, ['status']).stderr).toMatch(/pipeline\.lock:\d+:\d+/);
  });

  it.each([false, true])('a repro writes the same pipeline.lock bytes with and without it (-0 param: %s)', (neg) => {
    const a = project(neg);
    const b = mkdtempSync(join(tmpdir(), 'rallycut-parse-cache-b-'));
    dirs.push(b);
    cpSync(a, b, { recursive: true });
    for (const edit of [undefined, 'sizes: [2, 3]\n']) {
      if (edit) for (const d of [a, b]) writeFileSync(join(d, 'vars.yaml'), edit);
      expect(cli(a, ['repro'], true).status).toBe(0);
      expect(cli(b, ['repro'], false).status).toBe(0);
      expect(cli(a, ['repro'], true).stdout).toBe(cli(b, ['repro'], false).stdout);
      expect(readFileSync(join(a, 'pipeline.lock'), 'utf8')).toBe(readFileSync(join(b, 'pipeline.lock'), 'utf8'));
    }
  });
});

describe('jsonFaithful (what the cache may store)', () => {
  it('accepts plain JSON data and refuses what JSON would change', () => {
    expect(jsonFaithful({ a: [1, 'x', null, true, { b: 2.5 }], u: undefined })).toBe(true);
    for (const bad of [-0, NaN, Infinity, [undefined], [1, , 2], new Date(0), new Map(), { d: new Date(0) }, 10n])
      expect(jsonFaithful(bad), String(bad)).toBe(false);
  });
});
