// Where this installation of rallycut lives, for the files it ships beside its code (bin/rallycut, weights,
// worker scripts, train.py). Found by walking up from this module, so it works from src/ (tsx), from the
// compiled modules in dist/src/ and from the bundle in dist/cli/ alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding this installation's package.json and bin/rallycut. */
export function installRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'rallycut'))) return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the rallycut installation above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** A path inside the installation, e.g. installedPath('bin', 'rallycut'). */
export function installedPath(...parts: string[]): string {
  return join(installRoot(), ...parts);
}

/** True when this code runs from TypeScript sources (tsx), not from dist/. */
export function runningFromSource(): boolean {
  return import.meta.url.endsWith('.ts');
}
