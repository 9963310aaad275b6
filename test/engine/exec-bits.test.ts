// Executable outs: the lock records `isexec` for a file out (a folder records it per file in its manifest),
// and checkout — and repro restoring a deleted out — give the execute bit back.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const PIPELINE = `stages:
  tools:
    cmd: >-
      echo tools >> "$RIG_LOG" && printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod 755 run.sh &&
      mkdir -p bin && printf '#!/bin/sh\\necho tool\\n' > bin/tool && chmod 755 bin/tool &&
      echo data > bin/readme.txt
    deps: [seed.txt]
    outs: [run.sh, bin]
`;

const mode = (rig: Rig, rel: string): number => statSync(join(rig.dir, rel)).mode & 0o777;

let rig: Rig;
beforeEach(async () => {
  rig = new Rig('rallycut-exec-');
  await rig.write({ 'pipeline.yaml': PIPELINE, 'seed.txt': '1\n' });
  const r = await rig.run(['repro']);
  expect(r.code, r.stderr).toBe(0);
});
afterEach(async () => rig.cleanup());

describe('executable outs', () => {
  it('are recorded in pipeline.lock (file outs) and restored executable by checkout', async () => {
    const lock = rig.read('pipeline.lock');
    expect(lock).toMatch(/path: run\.sh\n\s+sha256: [0-9a-f]{64}\n\s+size: \d+\n\s+isexec: true/);
    await rig.remove('run.sh');
    await rig.remove('bin');
    const co = await rig.run(['checkout']);
    expect(co.code, co.stderr).toBe(0);
    expect(mode(rig, 'run.sh')).toBe(0o755);
    expect(mode(rig, 'bin/tool')).toBe(0o755);
    expect(mode(rig, 'bin/readme.txt')).toBe(0o644);
    expect(rig.read('bin/tool')).toBe('#!/bin/sh\necho tool\n');
  });

  it('are restored executable when repro puts a deleted out back from the cache', async () => {
    await rig.remove('run.sh');
    const r = await rig.run(['repro']);
    expect(r.code, r.stderr).toBe(0);
    expect(await rig.invocations()).toEqual(['tools']); // the first run only: restored, not rerun
    expect(mode(rig, 'run.sh')).toBe(0o755);
  });
});
