// Disk full. With a fault point (RALLYCUT_FAULT_AT, src/crash.ts) every write from the Nth on fails with
// ENOSPC, as Node reports a full disk: at a cache object insert (cache.write) and at any atomic write such
// as the lock or a run-cache record (fs.write). And, where the test may mount one, on a real 1 MiB tmpfs
// under .cache/. Each case asserts: a non-zero exit, a message that says the disk is full and names the
// file, the previous pipeline.lock and cache objects intact (doctor: 0 corrupt), no temp file left taking
// space, and a rerun once space is back that completes with the right outputs.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { expectDoctorClean, listFiles } from '../kit/checks.js';
import { sha256 } from '../kit/dataset.js';
import { Rig } from '../rig.js';

const PIPELINE = `stages:
  a:
    cmd: sort -u in.txt > a.txt
    deps: [in.txt]
    outs: [a.txt]
  tree:
    cmd: mkdir -p tree && cp a.txt tree/one.txt && tr a-z A-Z < a.txt > tree/two.txt
    deps: [a.txt]
    outs: [tree]
`;

/** path → sha256 of every cache object (objects/ only: run-cache records and stat caches may change). */
async function cacheObjects(rig: Rig): Promise<Map<string, string>> {
  const root = join(rig.dir, '.cache');
  const out = new Map<string, string>();
  for (const f of await listFiles(root)) {
    if (!f.startsWith('objects/') && !f.startsWith('files/')) continue;
    out.set(f, sha256(await fs.readFile(join(root, f))));
  }
  return out;
}

/** The lock entries of `stages` are as before (all of the lock when `stages` is 'all'). */
function expectLockKept(rig: Rig, lockBefore: string, stages: 'all' | string[]): void {
  if (stages === 'all') return void expect(rig.read('pipeline.lock')).toBe(lockBefore);
  type Lock = { stages: Record<string, unknown> };
  const [before, after] = [parseYaml(lockBefore) as Lock, parseYaml(rig.read('pipeline.lock')) as Lock];
  for (const s of stages) expect(after.stages[s], `lock entry of ${s}`).toEqual(before.stages[s]);
}

async function expectNothingLost(rig: Rig, lockBefore: string, objectsBefore: Map<string, string>, kept: 'all' | string[]): Promise<void> {
  expectLockKept(rig, lockBefore, kept);
  const after = await cacheObjects(rig);
  for (const [f, h] of objectsBefore) expect(after.get(f), `${f} lost or changed`).toBe(h);
  const temps = (await listFiles(rig.dir)).filter((f) => f.split('/').pop()!.startsWith('.rallycut-tmp-'));
  expect(temps, 'temp files left behind by the failed writes').toEqual([]);
  await expectDoctorClean(rig);
}

async function expectRerunCompletes(rig: Rig): Promise<void> {
  const rerun = await rig.run(['repro']);
  expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
  expect(rig.read('a.txt')).toBe('x\nz\n');
  expect(rig.read('tree/two.txt')).toBe('X\nZ\n');
  const status = await rig.run(['status']);
  expect(status.stdout).toContain('Everything is up to date');
  await expectDoctorClean(rig);
}

describe('disk full (fault point)', () => {
  it.each([
    ['cache.write:1', /disk full: no space left on the device while caching 'a\.txt' as \S*\.cache\/\S+/, 'all'],
    // The 2nd object to insert: tree/one.txt has a.txt's bytes (already cached), so it is tree/two.txt.
    // Stage a finished before the disk filled: its new lock entry stands; tree's must be the old one.
    ['cache.write:2', /disk full: no space left on the device while caching 'tree\/two\.txt' as \S*\.cache\/\S+/, ['tree']],
    ['fs.write:1', /disk full: no space left on the device while writing \/\S+/, 'all'],
  ] as const)('repro with writes failing from %s: exits 1 naming the file, keeps the old lock and cache, rerun succeeds', async (fault, message, kept) => {
    const rig = new Rig('rallycut-diskfull-');
    try {
      await rig.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'y\nx\n' });
      const first = await rig.run(['repro']);
      expect(first.code, first.stderr).toBe(0);
      const lockBefore = rig.read('pipeline.lock');
      const objectsBefore = await cacheObjects(rig);
      expect(objectsBefore.size).toBeGreaterThan(0);

      await rig.write({ 'in.txt': 'z\nx\n' });
      const full = await rig.spawn(['repro'], { RALLYCUT_FAULT_AT: fault });
      expect(full.code, full.stdout + full.stderr).toBe(1);
      expect(full.stderr).toMatch(message);
      expect(
        full.stderr.split('\n').find((l) => l.includes('error: ')),
        full.stderr,
      ).toMatch(/error: (\[\w+\] )?disk full/); // the headline, not a note
      expect(full.stderr).not.toMatch(/TypeError|ReferenceError|at .*\.js:\d+/); // a message, not a stack
      await expectNothingLost(rig, lockBefore, objectsBefore, kept === 'all' ? 'all' : [...kept]);
      // The space comes back (no fault armed): the rerun finishes the work.
      await expectRerunCompletes(rig);
    } finally {
      await rig.cleanup();
    }
  });
});

/** Mounts a tmpfs of `size` at dir; false when this machine refuses (not root, no CAP_SYS_ADMIN). */
function tryMount(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const probe = new Rig('rallycut-tmpfs-probe-');
const canMount = tryMount(probe.dir, '64k');
if (canMount) execFileSync('umount', [probe.dir]);
await probe.cleanup();

describe('disk full (a real 1 MiB tmpfs under .cache)', () => {
  it.skipIf(!canMount)(
    'a 2 MiB out does not fit: repro exits 1 naming it, old objects kept; after growing the tmpfs the rerun succeeds (skipped where mount -t tmpfs is refused)',
    async () => {
      const rig = new Rig('rallycut-tmpfs-');
      const cache = join(rig.dir, '.cache');
      await fs.mkdir(cache);
      expect(tryMount(cache, '1m')).toBe(true);
      try {
        await rig.write({
          'pipeline.yaml': `stages:
  small:
    cmd: cp seed.txt small.txt
    deps: [seed.txt]
    outs: [small.txt]
  big:
    cmd: yes \${fill} | head -c \${size}K > big.bin
    params: [size, fill]
    outs: [big.bin]
`,
          'params/default.yaml': 'size: 100\nfill: a\n',
          'seed.txt': 'hello\n',
        });
        const first = await rig.run(['repro']);
        expect(first.code, first.stderr).toBe(0);
        const lockBefore = rig.read('pipeline.lock');
        const objectsBefore = await cacheObjects(rig);
        expect(objectsBefore.size).toBe(2);

        await rig.write({ 'params/default.yaml': 'size: 2048\nfill: b\n' });
        const full = await rig.run(['repro']);
        expect(full.code, full.stdout + full.stderr).toBe(1);
        expect(full.stderr).toMatch(/disk full: no space left on the device while caching 'big\.bin' as \S*\.cache\/\S+/);
        expect(rig.read('pipeline.lock')).toBe(lockBefore);
        const after = await cacheObjects(rig);
        for (const [f, h] of objectsBefore) expect(after.get(f), `${f} lost or changed`).toBe(h);
        expect(
          (await listFiles(cache)).filter((f) => f.includes('.rallycut-tmp-')),
          'temp files left on the full disk',
        ).toEqual([]);

        execFileSync('mount', ['-o', 'remount,size=8m', cache]);
        const rerun = await rig.run(['repro']);
        expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
        expect((await fs.stat(join(rig.dir, 'big.bin'))).size).toBe(2 * 1024 * 1024);
        const status = await rig.run(['status']);
        expect(status.stdout).toContain('Everything is up to date');
        const doctor = await rig.run(['doctor']);
        expect(doctor.stdout).toMatch(/Checked 3 object\(s\); 0 corrupt/);
      } finally {
        execFileSync('umount', [cache]);
        await rig.cleanup();
      }
    },
  );
});
