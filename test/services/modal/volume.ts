// A Volume of the fake Modal: a folder of committed contents. A Sandbox that mounts it works on its own copy
// (checked out when the Sandbox starts); its changes reach the committed folder, and so other Sandboxes,
// only when it commits, which happens when it exits, as on Modal. Symlinks are stored with their container
// target (/data/objects/…), so a link written in one Sandbox resolves in the next one.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';

/** What each path looked like at checkout: 'dir', 'link:<target>' or 'file:<sha256>'. */
export type VolumeBaseline = Map<string, string>;

async function signatures(root: string): Promise<VolumeBaseline> {
  const out: VolumeBaseline = new Map();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(join(root, rel), { withFileTypes: true }).catch(() => [])) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) out.set(p, `link:${await fs.readlink(join(root, p))}`);
      else if (e.isDirectory()) {
        out.set(p, 'dir');
        await walk(p);
      } else if (e.isFile())
        out.set(
          p,
          `file:${createHash('sha256')
            .update(await fs.readFile(join(root, p)))
            .digest('hex')}`,
        );
    }
  };
  await walk('');
  return out;
}

function retarget(target: string, from: string, to: string): string {
  return target === from || target.startsWith(`${from}/`) ? to + target.slice(from.length) : target;
}

export class FakeVolume {
  commits = 0;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly committedDir: string,
  ) {}

  /** Copies the committed contents into `into` (a Sandbox's mount folder); returns the baseline to diff against. */
  async checkout(into: string, mountPath: string): Promise<VolumeBaseline> {
    await fs.mkdir(this.committedDir, { recursive: true });
    await fs.rm(into, { recursive: true, force: true });
    await fs.mkdir(into, { recursive: true });
    for (const [p, sig] of await signatures(this.committedDir)) {
      const dest = join(into, p);
      if (sig === 'dir') await fs.mkdir(dest, { recursive: true });
      else if (sig.startsWith('link:')) await fs.symlink(retarget(sig.slice(5), mountPath, into), dest);
      else await fs.copyFile(join(this.committedDir, p), dest);
    }
    return signatures(into);
  }

  /** Applies what changed in `from` since `baseline` to the committed contents (last writer wins, per file). */
  async commit(from: string, baseline: VolumeBaseline, mountPath: string): Promise<void> {
    const now = await signatures(from);
    for (const p of baseline.keys()) {
      if (!now.has(p)) await fs.rm(join(this.committedDir, p), { recursive: true, force: true });
    }
    for (const [p, sig] of now) {
      if (baseline.get(p) === sig) continue;
      const dest = join(this.committedDir, p);
      if (sig === 'dir') {
        await fs.mkdir(dest, { recursive: true });
        continue;
      }
      await fs.mkdir(dirname(dest), { recursive: true });
      await fs.rm(dest, { recursive: true, force: true });
      if (sig.startsWith('link:')) await fs.symlink(retarget(sig.slice(5), from, mountPath), dest);
      else await fs.copyFile(join(from, p), dest);
    }
    this.commits++;
  }

  /** Committed files (not links or folders), relative and sorted: what any new Sandbox would see. */
  async files(): Promise<string[]> {
    return [...(await signatures(this.committedDir))]
      .filter(([, s]) => s.startsWith('file:'))
      .map(([p]) => p)
      .sort();
  }
}
