// What happens to a stage's outs around a run, whatever the executor: removed before (unless persist),
// checked and hashed after, cached ones stored as objects; and checked out again from the cache.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { failure } from '../diagnostics.js';
import { isInside } from '../fsutil.js';
import { lockedPath, type HashedPath } from '../fingerprint.js';
import type { LockedOut } from '../lock/types.js';
import type { Stage } from '../pipeline/types.js';
import { refuseLinkedParents, refuseUnsafeWrite } from '../paths/policy.js';

/** The object store operations the engine uses (src/cache/objects.ts ObjectCache satisfies it). */
export interface ObjectStore {
  has(sha256: string): Promise<boolean>;
  insertPath(root: string, rel: string, hash: HashedPath): Promise<unknown>;
  checkoutPath(root: string, rel: string, sha256: string, isDir: boolean, isexec?: boolean): Promise<unknown>;
  /** Lets gc remove what was inserted, once a lock names it. */
  releasePins(): Promise<void>;
}

export interface PathHasher {
  hashPath(rel: string): Promise<HashedPath | null>;
  hashPaths(rels: readonly string[]): Promise<ReadonlyMap<string, HashedPath | null>>;
}

/** Hashes in the given order; null for a missing path. */
export async function hashList(hasher: PathHasher, rels: readonly string[]): Promise<(HashedPath | null)[]> {
  if (rels.length === 0) return [];
  const map = await hasher.hashPaths(rels);
  return rels.map((r) => map.get(r) ?? null);
}

/** Before a run: the stage's wdir and outs must not lead out of the project through a symlink (checked
 * first, so a refusal deletes nothing); then the outs not marked persist are deleted. */
export async function clearOuts(root: string, stage: Stage): Promise<void> {
  const subject = { subject: stage.name };
  await refuseLinkedParents(root, stage.wdir, 'running the stage', { self: true, ...subject });
  for (const o of stage.outs) await refuseLinkedParents(root, o.path, o.persist ? 'writing' : 'deleting', subject);
  for (const o of stage.outs) if (!o.persist) await fs.rm(join(root, o.path), { recursive: true, force: true });
}

/** After a successful run: every out must exist; cached ones go into the object store. */
export async function collectOuts(root: string, stage: Stage, hasher: PathHasher, objects: ObjectStore): Promise<LockedOut[]> {
  for (const o of stage.outs) {
    await refuseLinkedParents(root, o.path, 'caching', { subject: stage.name });
    await refuseEscapingLinks(root, o.path, stage.name);
  }
  const hashes = await hashList(
    hasher,
    stage.outs.map((o) => o.path),
  );
  const missing = stage.outs.filter((_, i) => !hashes[i]).map((o) => o.path);
  if (missing.length) {
    throw failure(`the stage finished but did not produce ${missing.map((m) => `'${m}'`).join(', ')}`, {
      subject: stage.name,
      notes: ['every declared out (outs, metrics, plots) must exist after a successful run'],
    });
  }
  const outs: LockedOut[] = [];
  for (const [i, spec] of stage.outs.entries()) {
    const h = { ...hashes[i]!, path: spec.path };
    if (spec.cache) await objects.insertPath(root, spec.path, h);
    const locked: LockedOut = { ...lockedPath(h), ...(h.isexec ? { isexec: true as const } : {}) };
    outs.push(spec.cache ? locked : { ...locked, cache: false });
  }
  return outs.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** An out (or a file inside a folder out) that is a symlink to outside the project would cache and lock
 * files the project does not own (a link to /etc hashed all of it): refuse it, naming the link. */
async function refuseEscapingLinks(root: string, rel: string, stageName: string): Promise<void> {
  const realRoot = await fs.realpath(root);
  const visit = async (relPath: string): Promise<void> => {
    const abs = join(root, relPath);
    const st = await fs.lstat(abs).catch(() => undefined);
    if (!st) return;
    if (st.isSymbolicLink()) {
      const target = await fs.realpath(abs).catch(() => undefined);
      if (target === undefined || !isInside(realRoot, target)) {
        throw failure(`out '${relPath}' is a symlink pointing outside the project (${await fs.readlink(abs)}); not caching it`, {
          subject: stageName,
          notes: ['outs must be files or folders inside the project; copy the data in instead of linking to it'],
        });
      }
      return;
    }
    if (st.isDirectory()) for (const name of await fs.readdir(abs)) await visit(`${relPath}/${name}`);
  };
  await visit(rel);
}

export function isDirOut(o: LockedOut): boolean {
  return o.nfiles !== undefined;
}

/** True when every out's object is in the store (a run record's uncached outs too: saving it stored them). */
export async function allObjectsPresent(outs: readonly LockedOut[], objects: ObjectStore): Promise<boolean> {
  for (const o of outs) if (!(await objects.has(o.sha256))) return false;
  return true;
}

/**
 * Stores the uncached outs of a finished run in the object store, for a run record to name: the run-cache
 * can then restore them like the others (as DVC's run-cache commits `cache: false` outs). The lock still
 * says `cache: false`, so `checkout`, `push` of the lock and `status` treat them as before.
 */
export async function storeUncachedOuts(root: string, outs: readonly LockedOut[], hasher: PathHasher, objects: ObjectStore): Promise<boolean> {
  for (const o of outs) {
    if (o.cache !== false) continue;
    const h = await hasher.hashPath(o.path);
    if (!h || h.sha256 !== o.sha256) return false; // changed since the run: no record rather than a wrong one
    await objects.insertPath(root, o.path, { ...h, path: o.path });
  }
  return true;
}

/** Puts the recorded outs back into the workspace (hardlink or copy, never a symlink). */
export async function checkoutOuts(root: string, outs: readonly LockedOut[], objects: ObjectStore): Promise<void> {
  for (const o of outs) {
    await refuseUnsafeWrite(root, o.path, 'writing');
    await fs.rm(join(root, o.path), { recursive: true, force: true });
    await objects.checkoutPath(root, o.path, o.sha256, isDirOut(o), o.isexec === true);
  }
}
