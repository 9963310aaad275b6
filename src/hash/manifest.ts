// A folder's identity is the sha256 of its manifest: one entry per file (posix path relative to the folder,
// sha256, size), sorted by path. The same text is stored as the folder's `.dir` object in the cache, so a
// folder can be restored from its hash alone. Empty sub-folders are not recorded (as in DVC).
import { createHash } from 'node:crypto';
import { readdirSync, statSync, realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { failure } from '../diagnostics.js';
import { TMP_PREFIX } from '../fsutil.js';
import { fileStat, type FileStat } from './stat-cache.js';

export interface ManifestEntry {
  path: string; // posix, relative to the folder
  sha256: string;
  size: number;
  /** Present (true) only for executable files, so folders without any keep the hashes they always had. */
  isexec?: true;
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The canonical text: a JSON array, one entry per line, fixed key order (isexec only when true), sorted by path. */
export function manifestText(entries: readonly ManifestEntry[]): string {
  let sorted = true;
  for (let i = 1; i < entries.length && sorted; i++) sorted = compareCodeUnits(entries[i - 1]!.path, entries[i]!.path) <= 0;
  const list = sorted ? entries : [...entries].sort((a, b) => compareCodeUnits(a.path, b.path));
  if (list.length === 0) return '[]\n';
  // Same bytes as JSON.stringify({ path, sha256, size }) per entry, built directly: this runs on every no-op.
  let text = '[\n';
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    text += `${i ? ',\n' : ''}{"path":${JSON.stringify(e.path)},"sha256":"${e.sha256}","size":${e.size}${e.isexec ? ',"isexec":true' : ''}}`;
  }
  return text + '\n]\n';
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const SHA_RE = /^[0-9a-f]{64}$/;

/** Parses a `.dir` object; throws on anything that is not a well-formed manifest. */
export function parseManifest(text: string): ManifestEntry[] {
  const data: unknown = JSON.parse(text);
  if (!Array.isArray(data)) throw new Error('manifest is not a list');
  return data.map((e: unknown, i) => {
    const r = e as Partial<ManifestEntry> | null;
    if (!r || typeof r.path !== 'string' || typeof r.sha256 !== 'string' || !SHA_RE.test(r.sha256) || typeof r.size !== 'number') {
      throw new Error(`manifest entry ${i} is malformed`);
    }
    if (r.isexec !== undefined && r.isexec !== true) throw new Error(`manifest entry ${i} has a malformed isexec`);
    if (r.path.startsWith('/') || r.path.split('/').some((p) => p === '..' || p === '' || p === '.')) {
      throw new Error(`manifest entry ${i} has an unsafe path '${r.path}'`);
    }
    return { path: r.path, sha256: r.sha256, size: r.size, ...(r.isexec ? { isexec: true as const } : {}) };
  });
}

export interface WalkedFile {
  rel: string; // posix, relative to the folder
  abs: string;
  stat: FileStat;
}

/**
 * Lists the files under dir (following symlinks, skipping our own temp files), sorted by rel path.
 * Synchronous on purpose: stat-ing 10,000 files this way takes ~50 ms, the promise API ~10× longer. This
 * runs over every folder dep on every no-op, so paths are built by concatenation (dir is absolute and
 * normalized) and realpath is only asked where a symlink is followed.
 */
export function walkFiles(dir: string, shown = dir): WalkedFile[] {
  const out: WalkedFile[] = [];
  const seen = new Set<string>(); // real paths of the folders entered: a symlink loop is entered once
  const visit = (abs: string, real: string, rel: string): void => {
    if (seen.has(real)) return;
    seen.add(real);
    const prefix = abs.endsWith(sep) ? abs : abs + sep;
    const realPrefix = real.endsWith(sep) ? real : real + sep;
    const relPrefix = rel ? rel + '/' : '';
    for (const d of readdirSync(abs, { withFileTypes: true })) {
      const name = d.name;
      if (name.includes('\uFFFD')) refuseUndecodableNames(abs, relPrefix, shown);
      if (name.startsWith(TMP_PREFIX)) continue;
      const childAbs = prefix + name;
      if (d.isDirectory()) {
        visit(childAbs, realPrefix + name, relPrefix + name);
        continue;
      }
      const st = statSync(childAbs, { throwIfNoEntry: false });
      if (!st) continue; // a dangling symlink or a file deleted while walking
      if (st.isFile()) out.push({ rel: relPrefix + name, abs: childAbs, stat: fileStat(st) });
      else if (st.isDirectory()) visit(childAbs, realpathSync(childAbs), relPrefix + name); // a followed symlink
    }
  };
  const abs = resolve(dir);
  visit(abs, realpathSync(abs), '');
  return out.sort((a, b) => compareCodeUnits(a.rel, b.rel));
}

/**
 * Node decodes a name that is not valid UTF-8 with U+FFFD, so it cannot be opened, and the manifest (UTF-8
 * text) cannot record it: refuse the folder, naming it and the name's bytes, instead of dropping the file.
 */
function refuseUndecodableNames(abs: string, relPrefix: string, shown: string): void {
  for (const raw of readdirSync(abs, { encoding: 'buffer' })) {
    if (Buffer.from(raw.toString('utf8')).equals(raw)) continue; // valid, also when it holds U+FFFD itself
    throw failure(`folder '${shown}' holds a name that is not valid UTF-8: '${relPrefix}${escapeBytes(raw)}'`, {
      file: shown,
      notes: ['names are recorded as UTF-8 text in pipeline.lock and the cache; rename the file (`ls -b` shows such names)'],
    });
  }
}

/** Printable ASCII as itself, every other byte as \xNN (as `ls -b` shows it). */
function escapeBytes(raw: Buffer): string {
  let out = '';
  for (const byte of raw) out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  return out;
}

/** Recently built manifests by folder hash, so caching a folder right after hashing it needs no re-walk. */
const recent = new Map<string, ManifestEntry[]>();
const RECENT_MAX = 64;

export function rememberManifest(sha256: string, entries: ManifestEntry[]): void {
  recent.delete(sha256);
  recent.set(sha256, entries);
  if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value as string);
}

export function recentManifest(sha256: string): ManifestEntry[] | undefined {
  return recent.get(sha256);
}

/** Drops remembered manifests (tests use it to act like a fresh process). */
export function clearRecentManifests(): void {
  recent.clear();
}
