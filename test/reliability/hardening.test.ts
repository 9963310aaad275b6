// Smaller hardening items of issue #21: names that are Object.prototype members, a huge matrix and
// SIGTERM while loading, a `${}` inside the user's own double quotes in a cmd.
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const rigs: Rig[] = [];
const newRig = (prefix: string): Rig => {
  const rig = new Rig(prefix);
  rigs.push(rig);
  return rig;
};
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.cleanup();
});

describe('stage and remote names that are Object.prototype members', () => {
  const NAMES = ['constructor', 'toString', '__proto__'];

  it('are ordinary stages: run, locked, then up to date', async () => {
    const rig = newRig('rallycut-proto-');
    const stages = NAMES.map((n, i) => `  ${n}:\n    cmd: ${JSON.stringify(Rig.stageCmd(n, `cp in.txt out${i}.txt`))}\n    deps: [in.txt]\n    outs: [out${i}.txt]\n`);
    await rig.write({ 'in.txt': 'x\n', 'pipeline.yaml': `stages:\n${stages.join('')}` });
    const first = await rig.run(['repro']);
    expect(first.code, first.stderr).toBe(0);
    expect((await rig.invocations()).sort()).toEqual([...NAMES].sort());
    for (const n of NAMES) expect(rig.read('pipeline.lock')).toContain(`  ${n}:\n`);
    const again = await rig.run(['repro']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('skipped 3');
    const status = await rig.run(['status']);
    expect(status.code, status.stderr).toBe(0);
  });

  it('a remote is found only when configured', async () => {
    const rig = newRig('rallycut-proto-remote-');
    const remote = mkdtempSync(join(tmpdir(), 'rallycut-proto-remote-dir-'));
    try {
      await rig.write({ 'pipeline.yaml': `stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n` });
      expect((await rig.run(['repro'])).code).toBe(0);
      const missing = await rig.run(['push', '-r', 'toString']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("no remote named 'toString'");
      expect((await rig.run(['remote', 'add', 'constructor', remote])).code).toBe(0);
      const pushed = await rig.run(['push', '-r', 'constructor']);
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(pushed.stdout).toContain('1 object(s) uploaded');
    } finally {
      await fs.rm(remote, { recursive: true, force: true });
    }
  });
});
