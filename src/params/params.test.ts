import { describe, expect, it } from 'vitest';
import { RallycutError } from '../diagnostics.js';
import { applyOverrides, getParam, loadParamValues, parseOverride } from './params.js';
import { writeProject } from '../pipeline/test-project.js';

const DEFAULT = `# tuned by hand
train:
  lr: 0.01      # learning rate
  sizes: [8, 16]
  opt: {name: adamw, wd: 0.01}
name: demo
`;

describe('params', () => {
  it('looks up dotted paths, list indices included', () => {
    const v = { a: { b: [10, { c: 3 }] } };
    expect(getParam(v, 'a.b.1.c')).toEqual({ found: true, value: 3 });
    expect(getParam(v, 'a.x.y')).toEqual({ found: false, missing: 'a.x' });
    expect(getParam(v, 'a.b.2')).toEqual({ found: false, missing: 'a.b.2' });
  });

  it('loads tracked values per file; a key naming an object tracks the whole subtree', async () => {
    const root = writeProject({ 'params/default.yaml': DEFAULT, 'params/other.yaml': 'seed: 7\n' });
    const values = await loadParamValues(root, [
      { file: 'params/default.yaml', keys: ['train.lr', 'train.opt'] },
      { file: 'params/other.yaml', keys: ['seed'] },
    ]);
    expect(values).toEqual({ 'params/default.yaml': { 'train.lr': 0.01, 'train.opt': { name: 'adamw', wd: 0.01 } }, 'params/other.yaml': { seed: 7 } });
    const overridden = await loadParamValues(root, [{ file: 'params/default.yaml', keys: ['train.opt'] }], [parseOverride('train.opt.wd=0.1')]);
    expect(overridden).toEqual({ 'params/default.yaml': { 'train.opt': { name: 'adamw', wd: 0.1 } } });
  });

  it('fails on a key the file lacks, pointing into the file', async () => {
    const root = writeProject({ 'params/default.yaml': DEFAULT });
    const err = await loadParamValues(root, [{ file: 'params/default.yaml', keys: ['train.opt.beta'] }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RallycutError);
    const d = (err as RallycutError).diagnostics[0]!;
    expect(d.message).toBe("unknown param 'train.opt.beta': params/default.yaml has no key 'train.opt.beta'");
    expect([d.file, d.start?.line, d.start?.column]).toEqual(['params/default.yaml', 5, 3]);
  });

  it('parses -S overrides as YAML scalars, with an optional file', () => {
    expect(parseOverride('train.lr=0.5')).toEqual({ file: 'params/default.yaml', key: 'train.lr', value: 0.5 });
    expect(parseOverride('params/other.yaml:seed=true')).toEqual({ file: 'params/other.yaml', key: 'seed', value: true });
    expect(parseOverride('name=a b')).toEqual({ file: 'params/default.yaml', key: 'name', value: 'a b' });
    expect(parseOverride('train.sizes=[1, 2]')).toEqual({ file: 'params/default.yaml', key: 'train.sizes', value: [1, 2] });
    expect(() => parseOverride('=3')).toThrow(/invalid param override '=3'/);
    expect(() => parseOverride('train..lr=3')).toThrow(/invalid param key/);
  });

  it('rewrites params files with overrides, keeping comments; unknown keys are config errors naming key and file', async () => {
    const root = writeProject({ 'params/default.yaml': DEFAULT });
    const [out] = await applyOverrides(root, [parseOverride('train.lr=0.5'), parseOverride('name=beach')]);
    expect(out!.file).toBe('params/default.yaml');
    expect(out!.text).toContain('# tuned by hand');
    expect(out!.text).toContain('lr: 0.5 # learning rate');
    expect(out!.text).toContain('name: beach');
    const err = await applyOverrides(root, [parseOverride('train.momentum=0.9')]).catch((e: unknown) => e);
    expect((err as RallycutError).diagnostics[0]).toMatchObject({
      kind: 'config',
      message: "cannot override 'train.momentum': params/default.yaml has no key 'train.momentum'",
      file: 'params/default.yaml',
      start: { line: 2, column: 1 },
    });
  });
});
