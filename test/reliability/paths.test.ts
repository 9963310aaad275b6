// Paths that lead out of the project through a symlinked folder (issue #21, item 3): nothing the tool
// deletes or writes (the pre-run delete, checkout, pull, train pull) may land outside the project. Paths
// that name the project's own files are refused at load: see the bad-input corpus (yaml-out-*, lock-out-*).
import { existsSync, mkdtempSync, promises as fs, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeVideos, writeDataset } from '../kit/pushable.js';
import { Rig } from '../rig.js';

let outside: string;
const rigs: Rig[] = [];
const newRig = (prefix: string): Rig => {
  const rig = new Rig(prefix);
  rigs.push(rig);
  return rig;
};

beforeEach(async () => {
  outside = realpathSync(mkdtempSync(join(tmpdir(), 'rallycut-outside-')));
  await fs.writeFile(join(outside, 'x'), 'precious\n');
});
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.cleanup();
  await fs.rm(outside, { recursive: true, force: true });
});

describe('a symlinked folder on the way out of the project', () => {
  it('outs: [ext/x] with ext -> elsewhere: repro refuses before deleting elsewhere/x', async () => {
    const rig = newRig('rallycut-paths-out-');
    await rig.write({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo new > ext/x\n    outs: [ext/x]\n' });
    await fs.symlink(outside, join(rig.dir, 'ext'));
    const res = await rig.run(['repro']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("'ext/x' goes through the symlink 'ext'");
    expect(readFileSync(join(outside, 'x'), 'utf8')).toBe('precious\n');
  });

  it('wdir: lnk with lnk -> elsewhere: repro refuses before deleting or running there', async () => {
    const rig = newRig('rallycut-paths-wdir-');
    await rig.write({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo new > x\n    wdir: lnk\n    outs: [x]\n' });
    await fs.symlink(outside, join(rig.dir, 'lnk'));
    const res = await rig.run(['repro']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("goes through the symlink 'lnk'");
    expect(readFileSync(join(outside, 'x'), 'utf8')).toBe('precious\n');
  });

  it('checkout --force does not write through a folder replaced by a symlink', async () => {
    const rig = newRig('rallycut-paths-checkout-');
    await rig.write({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: mkdir -p ext && echo cached > ext/x\n    outs: [ext/x]\n' });
    expect((await rig.run(['repro'])).code).toBe(0);
    await fs.rm(join(rig.dir, 'ext'), { recursive: true });
    await fs.symlink(outside, join(rig.dir, 'ext'));
    const res = await rig.run(['checkout', '--force']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("'ext/x' goes through the symlink 'ext'");
    expect(readFileSync(join(outside, 'x'), 'utf8')).toBe('precious\n');
  });

  it('pull in a clone whose committed symlink sits above a lock entry writes nothing outside', async () => {
    const remote = mkdtempSync(join(tmpdir(), 'rallycut-paths-remote-'));
    try {
      const origin = newRig('rallycut-paths-origin-');
      await origin.write({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: mkdir -p sub && echo from-remote > sub/x\n    outs: [sub/x]\n' });
      expect((await origin.run(['repro'])).code).toBe(0);
      expect((await origin.run(['remote', 'add', 'r', remote])).code).toBe(0);
      const pushed = await origin.run(['push']);
      expect(pushed.code, pushed.stderr).toBe(0);

      const clone = newRig('rallycut-paths-clone-');
      for (const f of ['pipeline.yaml', 'pipeline.lock', '.rallycut/config.yaml']) await clone.write({ [f]: origin.read(f) });
      // An empty target: no existing file there for checkout's "modified, kept" rule to protect.
      await fs.mkdir(join(outside, 'empty'));
      await fs.symlink(join(outside, 'empty'), join(clone.dir, 'sub'));
      const res = await clone.run(['pull']);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain("'sub/x' goes through the symlink 'sub'");
      expect(await fs.readdir(join(outside, 'empty'))).toEqual([]);
    } finally {
      await fs.rm(remote, { recursive: true, force: true });
    }
  });

  it('train pull does not download into a symlinked training_datasets/NAME/videos', async () => {
    const remote = mkdtempSync(join(tmpdir(), 'rallycut-paths-train-'));
    try {
      const env = { RALLYCUT_REMOTE_DIR: remote };
      const pusher = newRig('rallycut-paths-pusher-');
      await writeDataset(pusher, 'ds', makeVideos(2, 1024), true);
      const pushed = await pusher.run(['train', 'push', '--dataset', 'ds'], env);
      expect(pushed.code, pushed.stderr).toBe(0);

      const rig = newRig('rallycut-paths-train-pull-');
      await rig.write({ 'pipeline.yaml': 'stages: {}\n' });
      await fs.mkdir(join(rig.dir, 'training_datasets', 'ds'), { recursive: true });
      await fs.symlink(outside, join(rig.dir, 'training_datasets', 'ds', 'videos'));
      const res = await rig.run(['train', 'pull', '--dataset', 'ds'], env);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain("goes through the symlink 'training_datasets/ds/videos'");
      expect((await fs.readdir(outside)).sort()).toEqual(['x']);
    } finally {
      await fs.rm(remote, { recursive: true, force: true });
    }
  });

  it('a symlink that stays inside the project is fine', async () => {
    const rig = newRig('rallycut-paths-inner-');
    await rig.write({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo ok > ext/x\n    outs: [ext/x]\n', 'real/.keep': '' });
    await fs.symlink('real', join(rig.dir, 'ext'));
    const res = await rig.run(['repro']);
    expect(res.code, res.stderr).toBe(0);
    expect(existsSync(join(rig.dir, 'real', 'x'))).toBe(true);
  });
});
