// Experiment records: one JSON file per experiment under <cacheDir>/exps/<name>.json. Each process
// writes only its own record (atomic rename), so parallel runs never race on a shared index.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { configError } from '../diagnostics.js';
import { writeFileAtomic } from '../fsutil.js';
import type { ParamOverride } from '../params.js';
import { stableJson } from '../report/printer.js';

export type ExpStatus = 'queued' | 'running' | 'success' | 'failed';

export interface EpochPoint {
  readonly epoch: number;
  readonly train_loss?: number;
  readonly val_f1?: number;
}

export interface VideoScore {
  readonly video_id: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

/** What the report draws for one experiment, extracted when it finishes. */
export interface ExpCharts {
  /** Per-epoch training curves, keyed by the checkpoint file they came from. */
  readonly curves: Record<string, EpochPoint[]>;
  /** Per-video scores, keyed by metrics file. */
  readonly videos: Record<string, VideoScore[]>;
}

export interface ExpRecord {
  readonly name: string;
  status: ExpStatus;
  /** `git rev-parse HEAD` of the user's checkout when the experiment was created; absent outside git. */
  readonly baseline?: string;
  readonly overrides: readonly ParamOverride[];
  /** Every params file of the workspace, as plain data (overrides applied). */
  params: Record<string, unknown>;
  /** Scalar metrics per metrics file, flattened to dotted keys. */
  metrics: Record<string, Record<string, number | string | boolean | null>>;
  charts?: ExpCharts;
  /** The workspace's pipeline.lock after the run (parsed), or null before it ran. */
  lock: unknown;
  readonly created: string;
  started?: string;
  finished?: string;
  workspace?: string;
  error?: string;
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function expsDir(cacheDir: string): string {
  return join(cacheDir, 'exps');
}

export function workspacesDir(cacheDir: string): string {
  return join(cacheDir, 'exp-workspaces');
}

export function recordPath(cacheDir: string, name: string): string {
  return join(expsDir(cacheDir), `${name}.json`);
}

export function checkName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw configError(`invalid experiment name '${name}'`, { notes: ['use letters, digits, ".", "_" and "-" (up to 100)'], subject: name });
  return name;
}

export async function writeRecord(cacheDir: string, rec: ExpRecord): Promise<void> {
  await fs.mkdir(expsDir(cacheDir), { recursive: true });
  await writeFileAtomic(recordPath(cacheDir, rec.name), stableJson(rec));
}

export async function readRecord(cacheDir: string, name: string): Promise<ExpRecord> {
  checkName(name);
  let text: string;
  try {
    text = await fs.readFile(recordPath(cacheDir, name), 'utf8');
  } catch {
    const known = (await listNames(cacheDir)).slice(0, 10);
    throw configError(`no experiment named '${name}'`, { subject: name, notes: known.length ? [`known: ${known.join(', ')}`] : ["run 'rallycut exp run' first"] });
  }
  return JSON.parse(text) as ExpRecord;
}

export async function listNames(cacheDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(expsDir(cacheDir));
  } catch {
    return [];
  }
  return entries.filter((e) => e.endsWith('.json') && !e.startsWith('.')).map((e) => e.slice(0, -5)).sort();
}

/** All records, read concurrently; a damaged file is skipped rather than hiding the others. */
export async function readAll(cacheDir: string): Promise<ExpRecord[]> {
  const names = await listNames(cacheDir);
  const dir = expsDir(cacheDir);
  const recs = await Promise.all(
    names.map(async (n) => {
      try {
        return JSON.parse(await fs.readFile(join(dir, `${n}.json`), 'utf8')) as ExpRecord;
      } catch {
        return undefined;
      }
    }),
  );
  return recs.filter((r): r is ExpRecord => r !== undefined).sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
}

/** `exp-<6 hex>` not yet taken; deterministic names come from -n. */
export async function freshName(cacheDir: string, taken: ReadonlySet<string> = new Set()): Promise<string> {
  const existing = new Set([...(await listNames(cacheDir)), ...taken]);
  for (;;) {
    const name = `exp-${Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0')}`;
    if (!existing.has(name)) return name;
  }
}

/** Scalars of a JSON value by dotted path; arrays are skipped (per-video lists belong in plots). */
export function flattenScalars(value: unknown, prefix = '', out: Record<string, number | string | boolean | null> = {}): Record<string, number | string | boolean | null> {
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    if (prefix) out[prefix] = value;
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    for (const key of Object.keys(value).sort()) flattenScalars((value as Record<string, unknown>)[key], prefix ? `${prefix}.${key}` : key, out);
  }
  return out;
}
