// Parse results (pipeline.lock, the resolved pipeline, params values) remembered as JSON under
// `<cacheDir>/parsed/`, so a no-op `repro`/`status` neither loads the `yaml` package nor parses YAML.
// A record is only used when its key (sha256 of the exact input texts and the build id) matches, so a hit
// returns what parsing would: same values, and errors always take the slow path (only successes are stored).
// Records are sealed (cache/seal.ts): a pipeline record holds the commands repro runs, so one this user's
// rallycut did not write (committed to a repo, dropped in a shared cache) is ignored and parsed again.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { BUILD_ID } from './build-id.js';
import { seal, unseal } from './cache/seal.js';
import { tempPathFor } from './fsutil.js';

/** RALLYCUT_PARSE_CACHE=0 turns the records off (to compare against the slow path). */
export function parseCacheEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return BUILD_ID !== undefined && env.RALLYCUT_PARSE_CACHE !== '0';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The key of a record: the build and every input, each part length-prefixed so no two lists collide. */
function recordKey(kind: string, parts: readonly string[]): string {
  const h = createHash('sha256').update(`${BUILD_ID ?? ''}\0${kind}\0`);
  for (const p of parts) h.update(`${p.length}:`).update(p);
  return h.digest('hex');
}

/**
 * One record per slot (e.g. a workspace's lock): a new parse replaces the old record, so the folder stays
 * as small as the number of workspaces, not the number of edits.
 */
function slotFile(cacheDir: string, kind: string, slot: readonly string[]): string {
  return join(cacheDir, 'parsed', `${kind}-${recordKey(kind, slot).slice(0, 32)}.json`);
}

interface StoredRecord {
  key: string;
  value: unknown;
}

/** The stored value, or undefined when there is none for this exact key (or it cannot be read). */
async function readRecord(cacheDir: string, kind: string, slot: readonly string[], key: string): Promise<unknown> {
  if (!parseCacheEnabled()) return undefined;
  try {
    const text = await unseal(await fs.readFile(slotFile(cacheDir, kind, slot), 'utf8'));
    if (text === undefined) return undefined;
    const rec = JSON.parse(text) as StoredRecord;
    return rec.key === key ? rec.value : undefined;
  } catch {
    return undefined; // absent, or torn by a crash: parse again
  }
}

/**
 * Stores `value` when JSON gives it back unchanged (see jsonFaithful). Best effort: a failed write only
 * costs the next run a parse. Temp file + rename (not writeFileAtomic) so the crash and fault points that
 * tests count stay on the writes that matter.
 */
async function writeRecord(cacheDir: string, kind: string, slot: readonly string[], key: string, value: unknown): Promise<void> {
  if (!parseCacheEnabled() || !jsonFaithful(value)) return;
  const sealed = await seal(JSON.stringify({ key, value } satisfies StoredRecord));
  if (sealed === undefined) return;
  const file = slotFile(cacheDir, kind, slot);
  const tmp = tempPathFor(file);
  try {
    await fs.mkdir(join(cacheDir, 'parsed'), { recursive: true });
    await fs.writeFile(tmp, sealed);
    await fs.rename(tmp, file);
  } catch {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/**
 * True when JSON.parse(JSON.stringify(v)) is indistinguishable from v: plain objects and arrays of strings,
 * booleans, null and finite numbers other than -0 (JSON turns NaN/Infinity into null and -0 into 0).
 * Undefined object properties are allowed (JSON drops them; every reader treats absent and undefined alike).
 */
export function jsonFaithful(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (v[i] === undefined || !jsonFaithful(v[i])) return false; // holes too
    return true;
  }
  // A null-prototype record (src/dict.ts) comes back as a plain object; its reader makes it one again.
  if (typeof v !== 'object' || ![Object.prototype, null].includes(Object.getPrototypeOf(v) as object | null)) return false;
  return Object.entries(v).every(([k, x]) => k !== '__proto__' && (x === undefined || jsonFaithful(x)));
}

/** One parse that goes through the records: what it reads, how to parse it, and how a record becomes a value again. */
export interface CachedParse<T> {
  readonly cacheDir: string;
  /** The record's kind ('lock', 'pipeline', 'params'). */
  readonly kind: string;
  /** Which record: one per slot (e.g. [root] or [root, file]). */
  readonly slot: readonly string[];
  /** The exact texts the value is parsed from: the record is used only for these. */
  readonly inputs: readonly string[];
  /** False: parse without reading or writing a record (a one-off input, such as -S overrides). */
  readonly cacheable?: boolean;
  /** Parses the inputs: the value, and what to store of it (omitted: the value itself). Errors are thrown, never stored. */
  parse(): Promise<{ readonly value: T; readonly record?: unknown }>;
  /** A stored record as the value parsing would give (errors included); undefined when it no longer holds. */
  revive(record: unknown): Promise<T | undefined> | T | undefined;
}

/** The value of `p`: from its record when one matches the inputs (and revives), else parsed and recorded. */
export async function cachedParse<T>(p: CachedParse<T>): Promise<T> {
  const cacheable = p.cacheable !== false;
  const key = recordKey(p.kind, p.inputs);
  if (cacheable) {
    const stored = await readRecord(p.cacheDir, p.kind, p.slot, key);
    const value = stored === undefined ? undefined : await p.revive(stored);
    if (value !== undefined) return value;
  }
  const parsed = await p.parse();
  if (cacheable) await writeRecord(p.cacheDir, p.kind, p.slot, key, 'record' in parsed ? parsed.record : parsed.value);
  return parsed.value;
}

/** Stores what parsing `inputs` gave, ahead of the next read (e.g. a lock just written, while its parser is loaded). */
export function rememberParse(cacheDir: string, kind: string, slot: readonly string[], inputs: readonly string[], record: unknown): Promise<void> {
  return writeRecord(cacheDir, kind, slot, recordKey(kind, inputs), record);
}
