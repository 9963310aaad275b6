import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RallycutError } from '../diagnostics.js';
import type { LockEntry } from './types.js';
import { readLock, updateLock } from './lock.js';
import { parseLock, serializeLock } from './text.js';

const H = (c: string): string => c.repeat(64);

function entry(n: number): LockEntry {
  return {
    cmd: [`python train.py --seed ${n}`],
    deps: [
      { path: 'z/data', sha256: H('a'), size: 10, nfiles: 2 },
      { path: 'a.csv', sha256: H('b'), size: 3 },
    ],
    params: { 'params/other.yaml': { 'z.k': n }, 'params/default.yaml': { lr: 0.1, 'a.b': [1, 2] } },
    outs: [{ path: 'model.bin', sha256: H('c'), size: n }],
  };
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rc-lock-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const lockText = (): string => readFileSync(join(root, 'pipeline.lock'), 'utf8');

function diagOf(fn: () => unknown): { message: string; line?: number; column?: number } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RallycutError);
    const d = (err as RallycutError).diagnostics[0]!;
    expect(d.kind).toBe('config');
    expect(d.file).toBe('pipeline.lock');
    return { message: d.message, line: d.start?.line, column: d.start?.column };
  }
  throw new Error('expected an error');
}

describe('pipeline.lock', () => {
  it('serializes deterministically: stages by name, paths by path, params by file and key, fixed field order', () => {
    const a = serializeLock({
      schema: '1.0',
      stages: { train: entry(1), prepare: { handler: 'prepare', with: { b: 1, a: { d: 2, c: 1 } }, deps: [], params: {}, outs: [] } },
    });
    const b = serializeLock({
      schema: '1.0',
      stages: { prepare: { outs: [], params: {}, deps: [], with: { a: { c: 1, d: 2 }, b: 1 }, handler: 'prepare' }, train: entry(1) },
    });
    expect(a).toBe(b);
    expect(a).toBe(
      [
        'schema: "1.0"',
        'stages:',
        '  prepare:',
        '    handler: prepare',
        '    with:',
        '      a:',
        '        c: 1',
        '        d: 2',
        '      b: 1',
        '    deps: []',
        '    params: {}',
        '    outs: []',
        '  train:',
        '    cmd:',
        '      - python train.py --seed 1',
        '    deps:',
        '      - path: a.csv',
        `        sha256: ${H('b')}`,
        '        size: 3',
        '      - path: z/data',
        `        sha256: ${H('a')}`,
        '        size: 10',
        '        nfiles: 2',
        '    params:',
        '      params/default.yaml:',
        '        a.b:',
        '          - 1',
        '          - 2',
        '        lr: 0.1',
        '      params/other.yaml:',
        '        z.k: 1',
        '    outs:',
        '      - path: model.bin',
        `        sha256: ${H('c')}`,
        '        size: 1',
        '',
      ].join('\n'),
    );
    expect(parseLock(a).stages.train).toEqual({ ...entry(1), deps: [...entry(1).deps].reverse() });
  });

  it('quotes strings that would read back as another type', () => {
    const digits = '1234567890'.repeat(6) + '1234';
    const text = serializeLock({
      schema: '1.0',
      stages: { s: { cmd: ['true', 'yes', '1e5'], deps: [{ path: 'x', sha256: digits, size: 1 }], params: {}, outs: [] } },
    });
    const back = parseLock(text).stages.s!;
    expect(back.cmd).toEqual(['true', 'yes', '1e5']);
    expect(back.deps[0]!.sha256).toBe(digits);
  });

  it('reads an absent lock as empty and writes atomically without leaving temp files', async () => {
    expect(await readLock(root)).toEqual({ schema: '1.0', stages: {} });
    await updateLock(root, { train: entry(1) });
    expect(readdirSync(root)).toEqual(['pipeline.lock']);
    expect((await readLock(root)).stages.train!.outs[0]!.size).toBe(1);
  });

  it('rewrites only the changed stage: other entries keep their bytes, even hand-formatted ones', async () => {
    await updateLock(root, { a: entry(1), b: entry(2), c: entry(3) });
    // A hand edit inside stage a (a comment and a different but equivalent quoting) must survive.
    const edited = lockText()
      .replace('  a:\n    cmd:\n', '  a:\n    # tuned by hand\n    cmd:\n')
      .replace('- python train.py --seed 1', "- 'python train.py --seed 1'");
    writeFileSync(join(root, 'pipeline.lock'), edited);
    await updateLock(root, { b: entry(20) });
    const after = lockText();
    const block = (t: string, name: string, next?: string): string => t.slice(t.indexOf(`  ${name}:\n`), next ? t.indexOf(`  ${next}:\n`) : undefined);
    expect(block(after, 'a', 'b')).toBe(block(edited, 'a', 'b'));
    expect(block(after, 'c')).toBe(block(edited, 'c'));
    expect(block(after, 'b', 'c')).toContain('--seed 20');
    await updateLock(root, { b: null, aa: entry(4) });
    expect(Object.keys((await readLock(root)).stages)).toEqual(['a', 'aa', 'c']);
    expect(lockText()).toContain('# tuned by hand');
  });

  it('serialises concurrent updates from parallel stages without losing any', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => updateLock(root, { [`s${i}`]: entry(i) })));
    expect(Object.keys((await readLock(root)).stages)).toEqual(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7']);
  });

  it('points at pipeline.lock:line:col when the YAML is broken', () => {
    const d = diagOf(() => parseLock('schema: "1.0"\nstages:\n  a:\n    cmd: [unclosed\n'));
    expect(d.message).toMatch(/invalid YAML in pipeline.lock/);
    expect(d.line).toBeGreaterThanOrEqual(4);
  });

  it('points at the bad field of a hand-edited entry', () => {
    const text = serializeLock({ schema: '1.0', stages: { train: entry(1) } }).replace(`sha256: ${H('c')}`, 'sha256: deadbeef');
    const d = diagOf(() => parseLock(text));
    expect(d.message).toMatch(/sha256` must be 64 lowercase hex digits/);
    const line = text.split('\n').findIndex((l) => l.includes('deadbeef')) + 1;
    expect([d.line, d.column]).toEqual([line, 17]);
    const d2 = diagOf(() => parseLock('schema: "1.0"\nstages:\n  s:\n    deps: nope\n'));
    expect([d2.message, d2.line, d2.column]).toEqual(['`deps` must be a list', 4, 11]);
  });

  it('rejects out paths that escape the project, since checkout writes there', () => {
    const text = serializeLock({ schema: '1.0', stages: { s: { ...entry(1), outs: [{ path: '../../etc/evil', sha256: H('d'), size: 1 }] } } });
    const d = diagOf(() => parseLock(text));
    expect(d.message).toBe("`path` '../../etc/evil' must stay inside the project (relative, without '..')");
    expect(d.line).toBe(text.split('\n').findIndex((l) => l.includes('../../etc/evil')) + 1);
  });

  it('rejects a lock from an incompatible schema version', () => {
    const d = diagOf(() => parseLock('schema: "2.0"\nstages: {}\n'));
    expect(d).toEqual({ message: 'schema 2.0 is not supported (this rallycut writes 1.0)', line: 1, column: 9 });
  });

  it('refuses to update over a broken lock rather than discarding it', async () => {
    writeFileSync(join(root, 'pipeline.lock'), 'schema: "1.0"\nstages:\n  a: [\n');
    await expect(updateLock(root, { b: entry(1) })).rejects.toThrow(/invalid YAML in pipeline.lock/);
    expect(lockText()).toBe('schema: "1.0"\nstages:\n  a: [\n');
  });
});
