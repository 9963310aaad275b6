// Where the tool may write and delete, decided in one place. Paths read from pipeline.yaml, pipeline.lock
// or a run record are normalised by projectPath(); outs and wdirs are checked against the reserved paths
// (the repository, the cache, the tool's own files, the params files) by outConflict()/wdirConflict(); and
// right before a write or delete on disk, refuseLinkedParents() makes sure no symlinked folder on the way
// leads out of the project.
import { promises as fs } from 'node:fs';
import { isAbsolute as isAbsoluteNative, join, posix, relative, resolve } from 'node:path';
import { failure } from '../diagnostics.js';
import { isInside, toPosix } from '../fsutil.js';
import { CACHE_DIR, DEFAULT_PARAMS_FILE, LOCK_FILE, PIPELINE_FILE } from '../project.js';

/** Folders owned by git, the tool or npm: no out may be one, lie inside one, or hold one. */
const RESERVED_FOLDERS = ['.git', CACHE_DIR, '.rallycut', 'node_modules'] as const;
/** The folder whose YAML files are params files (see isParamsFile). */
const PARAMS_DIR = posix.dirname(DEFAULT_PARAMS_FILE);

/** True when `path` is `folder` itself's descendant (every path is inside '.'); both project-relative posix. */
export function isWithin(path: string, folder: string): boolean {
  return folder === '.' || path.startsWith(folder + '/');
}

export type ProjectPath = { ok: true; path: string } | { ok: false; problem: 'empty' | 'absolute' | 'escapes'; joined?: string };

/** `written` (relative to `base`, itself project-relative) as a normalised project-relative posix path. */
export function projectPath(written: string, base = '.'): ProjectPath {
  if (written.trim() === '') return { ok: false, problem: 'empty' };
  if (posix.isAbsolute(written) || isAbsoluteNative(written) || /^[A-Za-z]:[\\/]/.test(written)) return { ok: false, problem: 'absolute' };
  const joined = posix.normalize(posix.join(base, written.replace(/\\/g, '/'))).replace(/\/+$/, '') || '.';
  if (joined === '..' || joined.startsWith('../')) return { ok: false, problem: 'escapes', joined };
  return { ok: true, path: joined };
}

export interface ReservedPaths {
  readonly folders: readonly string[];
  readonly files: ReadonlySet<string>;
}

/**
 * The reserved paths of a project: the fixed folders and files, the cache folder when RALLYCUT_CACHE_DIR
 * puts it inside the project (`cacheDir` absolute), and the params/vars files the pipeline reads.
 */
export function reservedPaths(opts: { root?: string; cacheDir?: string; paramsFiles?: Iterable<string> } = {}): ReservedPaths {
  const folders: string[] = [...RESERVED_FOLDERS];
  if (opts.root !== undefined && opts.cacheDir !== undefined && isInside(opts.root, opts.cacheDir)) {
    const rel = toPosix(relative(resolve(opts.root), resolve(opts.cacheDir))) || '.';
    if (!folders.includes(rel)) folders.push(rel);
  }
  return { folders, files: new Set([PIPELINE_FILE, LOCK_FILE, DEFAULT_PARAMS_FILE, ...(opts.paramsFiles ?? [])]) };
}

/** Any YAML file under params/ is a params file (read by the pipeline, `-S` and `exp apply`). */
function isParamsFile(path: string): boolean {
  return isWithin(path, PARAMS_DIR) && /\.ya?ml$/.test(path);
}

/** Why nothing may be written or deleted at `path` (undefined: it may); `path` from projectPath(). */
export function outConflict(path: string, reserved: ReservedPaths): string | undefined {
  if (path === '.') return 'is the whole project';
  const inside = folderConflict(path, reserved);
  if (inside) return inside;
  for (const folder of reserved.folders) if (isWithin(folder, path)) return `holds ${folder}/`;
  if (reserved.files.has(path) || isParamsFile(path)) return `is the project's own ${path}`;
  for (const file of reserved.files) if (isWithin(file, path)) return `holds the project's own ${file}`;
  if (path === PARAMS_DIR) return `holds the params files in ${PARAMS_DIR}/`;
  return undefined;
}

/** Why a stage may not work in `path` (undefined: it may): the project root is fine, a reserved folder not. */
export function wdirConflict(path: string, reserved: ReservedPaths): string | undefined {
  if (path === '.') return undefined;
  return folderConflict(path, reserved) ?? (reserved.files.has(path) || isParamsFile(path) ? `is the project's own ${path}` : undefined);
}

function folderConflict(path: string, reserved: ReservedPaths): string | undefined {
  for (const folder of reserved.folders) {
    if (path === folder) return `is ${folder}/, which ${folder === '.git' ? 'git' : folder === 'node_modules' ? 'npm' : 'rallycut'} owns`;
    if (isWithin(path, folder)) return `lies inside ${folder}/, which ${folder === '.git' ? 'git' : folder === 'node_modules' ? 'npm' : 'rallycut'} owns`;
  }
  return undefined;
}

/**
 * Before writing or deleting root/rel: each folder on the way that exists and is a symlink must resolve
 * inside the project, or the write would land elsewhere (`ext -> /elsewhere` turns `ext/x` into
 * `/elsewhere/x`). `self` also checks rel itself (a wdir is entered, not replaced). `doing` completes
 * "not … there", e.g. "writing".
 */
export async function refuseLinkedParents(root: string, rel: string, doing: string, opts: { self?: boolean; subject?: string } = {}): Promise<void> {
  const parts = rel === '.' ? [] : rel.split('/');
  const count = opts.self ? parts.length : parts.length - 1;
  let realRoot: string | undefined;
  for (let i = 0; i < count; i++) {
    const linkRel = parts.slice(0, i + 1).join('/');
    const abs = join(root, ...parts.slice(0, i + 1));
    const st = await fs.lstat(abs).catch(() => undefined);
    if (!st) return; // nothing further down exists yet: what gets made there are real folders
    if (!st.isSymbolicLink()) continue;
    realRoot ??= await fs.realpath(root);
    const target = await fs.realpath(abs).catch(() => undefined);
    if (target !== undefined && isInside(realRoot, target)) continue;
    const points = await fs.readlink(abs).catch(() => '?');
    throw failure(
      `'${rel}' goes through the symlink '${linkRel}' (-> ${points}), which ${target === undefined ? 'points nowhere' : 'leaves the project'}; not ${doing} there`,
      {
        file: linkRel,
        ...(opts.subject ? { subject: opts.subject } : {}),
        notes: ['outs, wdirs and restored files must stay inside the project folder; replace the link with a real folder'],
      },
    );
  }
}

/**
 * The last check before restoring or deleting root/rel, whoever asks (checkout, pull, repro, run-cache):
 * rel is a normal path inside the project, not the project itself nor inside the cache, and no symlinked
 * folder on the way leads out. `doing` as for refuseLinkedParents.
 */
export async function refuseUnsafeWrite(root: string, rel: string, doing: string, opts: { cacheDir?: string; subject?: string } = {}): Promise<void> {
  const p = projectPath(toPosix(rel));
  const extra = { file: toPosix(rel), ...(opts.subject ? { subject: opts.subject } : {}) };
  if (!p.ok || p.path === '.' || p.path !== toPosix(rel)) throw failure(`'${toPosix(rel)}' is not a path inside the project; not ${doing} there`, extra);
  // (An exp workspace lives inside the cache: only a cache inside the project is reserved there.)
  if (opts.cacheDir !== undefined && isInside(root, opts.cacheDir) && isInside(opts.cacheDir, resolve(root, rel)))
    throw failure(`'${p.path}' lies inside the cache folder; not ${doing} there`, extra);
  await refuseLinkedParents(root, p.path, doing, opts.subject ? { subject: opts.subject } : {});
}
