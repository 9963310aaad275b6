// Corruption is detected on read, named, and repaired; never used silently. Covered elsewhere:
// - a flipped byte in a cache object found by verify/doctor: src/cache/objects.test.ts, src/cli/commands/cache-commands.test.ts;
// - a flipped byte in a remote cache object on pull: test/engine/cache-remote.test.ts;
// - a corrupt feature-cache file recomputed: stages/lib/features/store.test.ts, stages/extract-features/extract.test.ts;
// - a tampered dataset video on pull: test/dataset/bad-input.test.ts.
// Here: a corrupt cache object met by checkout (file and folder outs) and by repro's restore, and one
// repaired when its out is recomputed with the same bytes.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const PIPELINE = `stages:
  a:
    cmd: echo hello > a.txt
    deps: [seed.txt]
    outs: [a.txt]
  d:
    cmd: mkdir -p d && echo one > d/one.txt && echo two > d/two.txt
    deps: [seed.txt]
    outs: [d]
`;

let rig: Rig;
beforeEach(async () => {
  rig = new Rig('rallycut-corrupt-');
  await rig.write({ 'pipeline.yaml': PIPELINE, 'seed.txt': '1\n' });
  expect((await rig.run(['repro'])).code).toBe(0);
});
afterEach(async () => rig.cleanup());

/** Flips the first byte of the object holding `content`. */
async function flipObjectOf(content: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const sha = createHash('sha256').update(content).digest('hex');
  const file = join(rig.dir, '.cache', 'objects', sha.slice(0, 2), sha.slice(2));
  const bytes = await fs.readFile(file);
  bytes[0] = bytes[0]! ^ 0xff;
  await fs.chmod(file, 0o644);
  await fs.writeFile(file, bytes);
  return sha;
}

describe('a corrupt cache object', () => {
  it.each([
    ['a file out', 'hello\n', 'a.txt', 'a.txt'],
    ['a member of a folder out', 'two\n', 'd', 'd/two.txt'],
  ])('in %s: checkout refuses it by name, repro rebuilds, doctor is clean', async (_label, content, out, member) => {
    const sha = await flipObjectOf(content);
    await rig.remove(out);
    const co = await rig.run(['checkout']);
    expect(co.code).not.toBe(0);
    expect(co.stderr).toContain(`cache object ${sha} for '${member}' is corrupt`);
    expect(rig.exists(member)).toBe(false); // never restored with bad bytes
    const re = await rig.run(['repro']);
    expect(re.code, re.stderr).toBe(0);
    expect(rig.read(member)).toBe(content);
    const doctor = await rig.run(['doctor']);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    const st = await rig.run(['status']);
    expect(st.stdout).toContain('Everything is up to date');
  });
});

describe('a corrupt cache object whose out is recomputed with the same bytes', () => {
  it.each([
    ['a file out', 'hello\n', 'a'],
    ['a member of a folder out', 'two\n', 'd'],
  ])('in %s: the fresh copy replaces the bad object (repro -f), doctor is clean', async (_label, content, stage) => {
    await flipObjectOf(content);
    const before = await rig.run(['doctor']);
    expect(before.code).not.toBe(0); // the damage is there
    const re = await rig.run(['repro', '-f', stage]);
    expect(re.code, re.stderr).toBe(0);
    const doctor = await rig.run(['doctor']);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
  });
});
