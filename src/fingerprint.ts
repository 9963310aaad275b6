// A stage's fingerprint: the lock entry it would get if it ran now, minus its outs. Comparing it with the
// recorded entry tells why a stage must run; hashing it keys the run-cache.
import { createHash } from 'node:crypto';
import type { RegisteredHandler, StageContext } from './handler-contract.js';
import type { LockEntry, LockedPath } from './lock/types.js';
import type { ParamValues, Stage } from './pipeline/types.js';
import { sortKeysDeep } from './format/printer.js';

/** What hashing a path yields (structurally the hasher's PathHash). */
export interface HashedPath {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly nfiles?: number;
  readonly isDir: boolean;
  readonly isexec?: true;
}

/** A lock entry without outs. */
export type FingerprintEntry = Omit<LockEntry, 'outs'>;

export interface Fingerprint {
  readonly entry: FingerprintEntry;
  /** Deps that do not exist right now (an upstream stage may still produce them). */
  readonly missingDeps: readonly string[];
  /** The handler has a stamp hook and it answered null: external state unknown, so the stage always runs. */
  readonly stampUnknown: boolean;
  /** The handler has a stamp hook at all (a stage with one is not "dep-less"). */
  readonly hasStamp: boolean;
}

export interface FingerprintInputs {
  readonly stage: Stage;
  /** Hash of each dep, in the stage's dep order; null when missing. */
  readonly depHashes: readonly (HashedPath | null)[];
  readonly params: ParamValues;
  readonly versions?: Readonly<Record<string, string>> | undefined;
  /** undefined: the handler has no stamp hook; null: it has one and the state is unknown. */
  readonly stamp?: string | null | undefined;
}

export function lockedPath(h: HashedPath): LockedPath {
  return h.isDir || h.nfiles !== undefined
    ? { path: h.path, sha256: h.sha256, size: h.size, nfiles: h.nfiles ?? 0 }
    : { path: h.path, sha256: h.sha256, size: h.size };
}

/** Pure: assembles the fingerprint from what was measured. */
export function buildFingerprint(inp: FingerprintInputs): Fingerprint {
  const { stage } = inp;
  const deps: LockedPath[] = [];
  const missingDeps: string[] = [];
  stage.deps.forEach((path, i) => {
    const h = inp.depHashes[i];
    if (h) deps.push(lockedPath({ ...h, path }));
    else missingDeps.push(path);
  });
  deps.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const entry: FingerprintEntry = {
    ...(stage.action.kind === 'cmd'
      ? { cmd: [...stage.action.commands] }
      : { handler: stage.action.handler, with: sortKeysDeep(stage.action.with) as Record<string, unknown> }),
    ...(stage.wdir !== '.' ? { wdir: stage.wdir } : {}),
    ...(stage.executor.name !== 'local' ? { executor: stage.executor.name } : {}),
    deps,
    params: sortKeysDeep(inp.params) as Record<string, Record<string, unknown>>,
    ...(inp.versions && Object.keys(inp.versions).length ? { versions: sortKeysDeep(inp.versions) as Record<string, string> } : {}),
    ...(typeof inp.stamp === 'string' ? { stamp: inp.stamp } : {}),
  };
  return { entry, missingDeps, stampUnknown: inp.stamp === null, hasStamp: inp.stamp !== undefined };
}

/** Stable serialisation: sorted keys, no whitespace. Same entry → same string. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value));
}

/** The run-cache key: sha256 of the canonical entry without outs. */
export function runCacheKey(entry: FingerprintEntry): string {
  const { cmd, handler, with: w, wdir, executor, deps, params, versions, stamp } = entry;
  const keyed = { cmd, handler, with: w, wdir, executor, deps: deps.map((d) => ({ path: d.path, sha256: d.sha256 })), params, versions, stamp };
  return createHash('sha256').update(canonicalJson(keyed)).digest('hex');
}

export interface MeasureEnv {
  hashPaths(rels: readonly string[]): Promise<(HashedPath | null)[]>;
  /** The stage's tracked param values (already loaded: the handler context carries them too). */
  params: ParamValues;
  handler?: RegisteredHandler | undefined;
  handlerParams?: unknown;
  ctx: StageContext;
  /** Tool versions for this handler, when the caller memoises them (they do not depend on the stage). */
  versions?: (() => Promise<Record<string, string> | undefined>) | undefined;
}

/** Measures everything the fingerprint depends on (stat-cached dep hashes, versions, stamp). */
export async function measureFingerprint(stage: Stage, env: MeasureEnv): Promise<Fingerprint> {
  const versionsP = env.versions ? env.versions() : env.handler?.versions ? env.handler.versions(env.ctx) : Promise.resolve(undefined);
  const depHashes = await env.hashPaths(stage.deps);
  // A stamp hook usually reads the stage's deps or external state derived from them; with a dep missing
  // the stage cannot be up to date anyway, so the hook is not asked (it would only fail).
  const missing = depHashes.some((h) => h === null);
  const [versions, stamp] = await Promise.all([
    versionsP,
    env.handler?.stamp && !missing ? env.handler.stamp(env.ctx, env.handlerParams) : Promise.resolve(undefined),
  ]);
  const fp = buildFingerprint({ stage, depHashes, params: env.params, versions, stamp });
  return env.handler?.stamp && missing ? { ...fp, hasStamp: true } : fp;
}
