import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seal, sealKeyFile, unseal } from './seal.js';

const saved = process.env.XDG_STATE_HOME;
const made: string[] = [];
const stateDir = (tag: string): string => {
  const dir = mkdtempSync(join(tmpdir(), `rallycut-seal-${tag}-`));
  made.push(dir);
  return dir;
};
afterEach(() => {
  made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
  if (saved === undefined) delete process.env.XDG_STATE_HOME;
  else process.env.XDG_STATE_HOME = saved;
});

describe('sealed cache files', () => {
  it("give back only what this user's key sealed, unchanged", async () => {
    process.env.XDG_STATE_HOME = stateDir('a');
    const sealed = (await seal('module.exports = 1;'))!;
    expect(await unseal(sealed)).toBe('module.exports = 1;');
    expect(statSync(sealKeyFile()!).mode & 0o777).toBe(0o600);
    expect(await unseal(sealed.replace('= 1', '= 2'))).toBeUndefined(); // edited
    expect(await unseal('module.exports = 1;')).toBeUndefined(); // never sealed
    // Another user (another key) cannot vouch for this file, nor this user for theirs.
    process.env.XDG_STATE_HOME = stateDir('b');
    expect(await unseal(sealed)).toBeUndefined();
    expect(await unseal((await seal('module.exports = 1;'))!)).toBe('module.exports = 1;');
  });
});
