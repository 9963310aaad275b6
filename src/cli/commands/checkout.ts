// `rallycut checkout [TARGET...]`: puts the outs recorded in pipeline.lock back into the workspace from the
// object cache (as copies: editing them later cannot harm the cache). Works from the lock alone, so it
// also restores outs of stages since removed from pipeline.yaml but still locked.
import { ObjectCache } from '../../cache/objects.js';
import { configError, failure } from '../../diagnostics.js';
import { toPosix } from '../../fsutil.js';
import { Hasher } from '../../hash/index.js';
import { readLock } from '../../lock/lock.js';
import type { LockFile, LockedOut } from '../../lock/types.js';
import { acquireProjectLock, waitingMessage } from '../../exec/projectlock.js';
import { cacheDirFor, requireProjectRoot } from '../../project.js';
import { registerWorkspace } from '../../cache/workspaces.js';
import { optBool, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';

export interface LockedOutRef {
  stage: string;
  out: LockedOut;
}

/** Outs of the stages or paths named by targets (all when none). A target may be a stage, an out, or a folder holding outs. */
export function selectOuts(lock: LockFile, targets: readonly string[]): LockedOutRef[] {
  const all: LockedOutRef[] = [];
  for (const stage of Object.keys(lock.stages).sort()) for (const out of lock.stages[stage]!.outs) all.push({ stage, out });
  if (targets.length === 0) return all;
  const picked = new Set<LockedOutRef>();
  for (const raw of targets) {
    const t = toPosix(raw).replace(/^\.\//, '').replace(/\/+$/, '');
    const matches = all.filter((r) => r.stage === t || r.stage.startsWith(`${t}@`) || r.out.path === t || r.out.path.startsWith(`${t}/`) || t === '.');
    if (matches.length === 0) throw configError(`'${raw}' is neither a stage nor an out recorded in pipeline.lock`, { subject: raw });
    for (const m of matches) picked.add(m);
  }
  return all.filter((r) => picked.has(r));
}

export type CheckoutState = 'restored' | 'unchanged' | 'missing' | 'modified' | 'uncached';

export interface CheckoutItem {
  stage: string;
  path: string;
  sha256: string;
  state: CheckoutState;
}

const isDirOut = (o: LockedOut): boolean => o.nfiles !== undefined;

export async function checkoutOuts(root: string, cacheDir: string, refs: readonly LockedOutRef[], force: boolean): Promise<CheckoutItem[]> {
  const objects = new ObjectCache(cacheDir);
  const hasher = await Hasher.open(root, cacheDir);
  const current = await hasher.hashPaths(
    refs.map((r) => r.out.path),
    'checking outs',
  );
  const items: CheckoutItem[] = [];
  for (const { stage, out } of refs) {
    const item = (state: CheckoutState): CheckoutItem => ({ stage, path: out.path, sha256: out.sha256, state });
    const now = current.get(out.path) ?? null;
    if (now && now.sha256 === out.sha256) items.push(item('unchanged'));
    else if (out.cache === false) items.push(item('uncached'));
    else if (!(await objects.has(out.sha256))) items.push(item('missing'));
    // Overwrite a modified out only when its current content is safe in the cache, or when forced.
    else if (now && !force && !(await objects.has(now.sha256))) items.push(item('modified'));
    else {
      await objects.checkoutPath(root, out.path, out.sha256, isDirOut(out), out.isexec === true);
      items.push(item('restored'));
    }
  }
  await hasher.save();
  return items;
}

const HINT: Record<Exclude<CheckoutState, 'restored' | 'unchanged'>, string> = {
  missing: 'not in the cache (run `rallycut repro` to rebuild it)',
  modified: 'modified in the workspace and not cached; kept (use --force to overwrite)',
  uncached: 'out has cache: false and differs from the lock (run `rallycut repro` to rebuild it)',
};

export function checkoutCommand(): CommandSpec {
  return {
    path: ['checkout'],
    summary: 'Restore the outs recorded in pipeline.lock from the cache',
    description:
      'Restores each cached out whose workspace copy is missing or differs from pipeline.lock. Files are copied\n' +
      'out of the cache (never linked), so editing them cannot corrupt it. A modified out whose current content\n' +
      'is not in the cache is kept unless --force.',
    positionals: [{ name: 'target', description: 'Stages or out paths to restore (default: all)', variadic: true, complete: 'stage' }],
    options: [
      { name: 'force', short: 'f', type: 'boolean', description: 'Overwrite modified outs even when their content is not cached' },
      { name: 'json', type: 'boolean', description: 'Print a machine-readable result on stdout' },
    ],
    async run(args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const lock = await readLock(root);
      const refs = selectOuts(lock, args.positionals);
      const projectLock = await acquireProjectLock(root, {
        signal: io.signal,
        onWait: (o) => io.err(waitingMessage(o)),
      });
      let items: CheckoutItem[];
      try {
        const cacheDir = cacheDirFor(root, io.env);
        // A clone that only checks out (never runs repro) still uses the shared cache: gc elsewhere must keep its objects.
        await registerWorkspace(cacheDir, root);
        items = await checkoutOuts(root, cacheDir, refs, optBool(args, 'force'));
      } finally {
        await projectLock.release();
      }
      const problems = items.filter((i) => i.state === 'missing' || i.state === 'modified');
      const uncached = items.filter((i) => i.state === 'uncached');
      // On failure the CLI prints {ok: false, errors} for --json itself (one JSON document per run); the
      // errors' notes then name every out not restored.
      if (optBool(args, 'json')) {
        if (!problems.length) io.out(JSON.stringify({ ok: true, items }, null, 2) + '\n');
      } else {
        for (const i of items) if (i.state === 'restored') io.out(`restored  ${i.path}  (${i.stage})\n`);
        const restored = items.filter((i) => i.state === 'restored').length;
        const unchanged = items.filter((i) => i.state === 'unchanged').length;
        for (const i of uncached) io.out(`skipped   ${i.path}  (${i.stage}): ${HINT.uncached}\n`);
        io.out(`${restored} restored, ${unchanged} already up to date${problems.length ? `, ${problems.length} not restored` : ''}\n`);
      }
      if (problems.length) {
        throw failure(`${problems.length} out(s) could not be restored`, {
          notes: problems.map((p) => `${p.path} (${p.stage}): ${HINT[p.state as keyof typeof HINT]}`),
        });
      }
    },
  };
}
