// Reading user-supplied JSON files with errors that name the file (and, for bad JSON, the position).
import { promises as fs } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { configError } from '../../../src/handler.js';

/** `path` relative to `cwd` for messages (absolute paths outside cwd stay absolute). */
export function shownPath(cwd: string, path: string): string {
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/** Reads and parses a JSON file; a missing file or bad JSON is a config error naming `shown`. */
export async function readJsonFile(path: string, shown: string = path): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw configError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`, { file: shown });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw configError(`invalid JSON: ${(err as Error).message}`, { file: shown });
  }
}

/** A finite number, else undefined (for fields of untrusted JSON). */
export const finiteOrUndefined = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** A plain JSON object, else undefined (for untrusted JSON). */
export const objectOrUndefined = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
