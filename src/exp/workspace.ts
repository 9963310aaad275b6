// Isolated experiment workspaces: a detached git worktree of HEAD plus the user's uncommitted changes
// (modified and untracked, non-ignored files), or outside git a copy of the project without caches and
// ignored big folders. The user's checkout is only ever read.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { failure } from '../diagnostics.js';
import { isInside } from '../fsutil.js';
import { CACHE_DIR, LOCK_FILE } from '../project.js';

const run = promisify(execFile);

async function git(cwd: string, args: readonly string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', [...args], { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch {
    return undefined;
  }
}

/** The commit the checkout is on, or undefined outside git (or in a repo without commits). */
export async function headCommit(root: string): Promise<string | undefined> {
  return (await git(root, ['rev-parse', '--verify', '-q', 'HEAD']))?.trim() || undefined;
}

/** Project files git considers changed or new (not ignored), relative to the project root. */
async function uncommitted(root: string): Promise<string[]> {
  const out = await git(root, ['ls-files', '-z', '-m', '-o', '--exclude-standard', '--', '.']);
  return (out ?? '').split('\0').filter(Boolean);
}

async function copyInto(src: string, dest: string): Promise<void> {
  await fs.mkdir(dirname(dest), { recursive: true });
  await fs.cp(src, dest, { recursive: true, force: true, dereference: false });
}

/** Folders never copied outside git: caches, dependencies, build output, large data. */
const SKIP_DIRS = new Set([CACHE_DIR, 'node_modules', '.git', 'dist', 'training_data', 'features', 'videos']);

export async function createWorkspace(root: string, dir: string, cacheDir: string): Promise<'worktree' | 'copy'> {
  await fs.mkdir(dirname(dir), { recursive: true });
  await fs.rm(dir, { recursive: true, force: true });
  const top = (await git(root, ['rev-parse', '--show-toplevel']))?.trim();
  if (top && (await headCommit(root))) {
    const res = await git(root, ['worktree', 'add', '--detach', '--quiet', dir, 'HEAD']);
    if (res === undefined) throw failure(`git worktree add failed for ${dir}`);
    // The project may sit in a subfolder of the repository: the workspace root mirrors that.
    const sub = relative(top, root);
    for (const rel of await uncommitted(root)) {
      const abs = join(root, rel);
      if (isInside(cacheDir, abs)) continue;
      await copyInto(abs, join(dir, sub, rel)).catch(() => undefined);
    }
    // pipeline.lock is often uncommitted or newer than HEAD's: start from the user's view.
    await copyInto(join(root, LOCK_FILE), join(dir, sub, LOCK_FILE)).catch(() => undefined);
    return 'worktree';
  }
  // fs.cp refuses a destination inside its source (the default cache is): walk and copy by hand.
  const copyTree = async (src: string, dest: string): Promise<void> => {
    await fs.mkdir(dest, { recursive: true });
    for (const e of await fs.readdir(src, { withFileTypes: true })) {
      const from = join(src, e.name);
      if (SKIP_DIRS.has(e.name) || isInside(cacheDir, from) || isInside(dir, from)) continue;
      const to = join(dest, e.name);
      if (e.isDirectory()) await copyTree(from, to);
      else if (e.isSymbolicLink()) await fs.symlink(await fs.readlink(from), to);
      else if (e.isFile()) await fs.copyFile(from, to);
    }
  };
  await copyTree(root, dir);
  return 'copy';
}

/** The project root inside a workspace (the project may be a subfolder of its repository). */
export async function workspaceRoot(root: string, dir: string): Promise<string> {
  const top = (await git(root, ['rev-parse', '--show-toplevel']))?.trim();
  if (!top || !(await headCommit(root))) return dir;
  const sub = relative(top, root);
  return sub ? join(dir, ...sub.split(sep)) : dir;
}

export async function removeWorkspace(root: string, dir: string): Promise<void> {
  if ((await git(root, ['worktree', 'remove', '--force', dir])) === undefined) await fs.rm(dir, { recursive: true, force: true });
  await git(root, ['worktree', 'prune']);
}
