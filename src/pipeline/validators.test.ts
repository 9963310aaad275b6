import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seal } from '../cache/seal.js';
import { cachedValidator } from './validators.js';

const schema = { type: 'object', properties: { n: { type: 'integer', default: 3 } }, required: ['name'] };
const options = { allErrors: true, useDefaults: true };

describe('cachedValidator', () => {
  it('writes the compiled validator once and reuses it from disk, recovering from a damaged file', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'rallycut-validators-'));
    const first = await cachedValidator(schema, options, cacheDir);
    const files = readdirSync(join(cacheDir, 'validators'));
    expect(files).toHaveLength(1);
    const value: Record<string, unknown> = { name: 'x' };
    expect(first(value)).toBe(true);
    expect(value).toEqual({ name: 'x', n: 3 });

    // A different option set is a different validator; a damaged file is recompiled, not trusted.
    writeFileSync(join(cacheDir, 'validators', files[0]!), 'module.exports = 42;');
    const other = await cachedValidator(schema, { ...options, verbose: true }, cacheDir);
    expect(readdirSync(join(cacheDir, 'validators'))).toHaveLength(2);
    expect(other({})).toBe(false);
    expect(other.errors?.[0]).toMatchObject({ keyword: 'required', params: { missingProperty: 'name' } });
  });

  it('lets another process load the generated source instead of compiling', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'rallycut-validators-'));
    const s = { type: 'array', items: { type: 'string', minLength: 2 }, uniqueItems: true };
    await cachedValidator(s, { allErrors: true }, cacheDir);
    const { execFileSync } = await import('node:child_process');
    const script = `import { cachedValidator } from ${JSON.stringify(new URL('./validators.ts', import.meta.url).pathname)};
const v = await cachedValidator(${JSON.stringify(s)}, { allErrors: true }, ${JSON.stringify(cacheDir)});
console.log(JSON.stringify([v(['ab', 'cd']), v(['ab', 'ab']), v(['a'])]));`;
    const run = (): unknown => JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }));
    // minLength needs ajv's runtime helper through require(): the generated code must find it.
    expect(run()).toEqual([true, false, false]);
    // Proof the child read the file rather than compiling: a planted validator sealed with this user's key answers instead.
    const [file] = readdirSync(join(cacheDir, 'validators'));
    const planted = 'module.exports = function () { return true; };';
    writeFileSync(join(cacheDir, 'validators', file!), (await seal(planted))!);
    expect(run()).toEqual([true, true, true]);
    // The same code unsealed (committed to a repo, dropped in a shared cache) is never run: compiled again instead.
    writeFileSync(join(cacheDir, 'validators', file!), planted);
    expect(run()).toEqual([true, false, false]);
    expect(readFileSync(join(cacheDir, 'validators', file!), 'utf8')).not.toBe(planted); // and replaced
  });
});
