// Locating the project and its well-known folders.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { configError } from './diagnostics.js';

export const PIPELINE_FILE = 'pipeline.yaml';
export const LOCK_FILE = 'pipeline.lock';
export const CACHE_DIR = '.cache';
export const DEFAULT_PARAMS_FILE = 'params/default.yaml';

/** Walks up from `cwd` to the folder holding pipeline.yaml. */
export function findProjectRoot(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, PIPELINE_FILE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function requireProjectRoot(cwd: string): string {
  const root = findProjectRoot(cwd);
  if (!root) throw configError(`no ${PIPELINE_FILE} found in ${resolve(cwd)} or any parent folder`);
  return root;
}

/** RALLYCUT_CACHE_DIR lets experiments and tests share one cache between workspaces. */
export function cacheDirFor(root: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.RALLYCUT_CACHE_DIR ? resolve(env.RALLYCUT_CACHE_DIR) : join(root, CACHE_DIR);
}
