// Experiment records: one JSON file per experiment under <cacheDir>/exps/<name>.json. Each process
// writes only its own record (atomic rename), so parallel runs never race on a shared index.
import { promises as fs } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { configError } from '../diagnostics.js';
import { toPosix, writeFileAtomic, createExclusive } from '../fsutil.js';
import type { ParamOverride } from '../params/params.js';
import { ownerGone, parseProcessOwner, type ProcessOwner } from '../process.js';
import { stableJson } from '../format/printer.js';
import { placementFromJson, type Placement } from '../exec/placement.js';

export type ExpStatus = 'queued' | 'running' | 'success' | 'failed';

export interface EpochPoint {
  readonly epoch: number;
  readonly train_loss?: number;
  readonly val_f1?: number;
}

export interface VideoScore {
  readonly video_id: string;
  /** What the report shows for the video (the id goes in the tooltip); absent in older records. */
  readonly filename?: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** How many rallies were predicted for the video; absent in older records. */
  readonly predicted?: number;
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
  /** `exp run --executor`: where its stages ran; not part of its params, lock or identity. */
  readonly placement?: Placement;
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
  /** The process running it (while `running`), so a killed run is not shown as running forever. */
  owner?: ProcessOwner;
  error?: string;
}

/** The executors a record may name (src/exec/executors.ts; not imported: records load without the executors). */
const EXECUTOR_NAMES = ['local', 'modal'];

const STATUSES: ReadonlySet<string> = new Set<ExpStatus>(['queued', 'running', 'success', 'failed']);

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
  if (!NAME_PATTERN.test(name))
    throw configError(`invalid experiment name '${name}'`, { notes: ['use letters, digits, ".", "_" and "-" (up to 100)'], subject: name });
  return name;
}

export async function writeRecord(cacheDir: string, rec: ExpRecord): Promise<void> {
  await fs.mkdir(expsDir(cacheDir), { recursive: true });
  await writeFileAtomic(recordPath(cacheDir, rec.name), stableJson(rec));
}

/** Writes a new record; false (nothing written) when one by that name exists, so one of racing creators wins. */
export async function createRecord(cacheDir: string, rec: ExpRecord): Promise<boolean> {
  await fs.mkdir(expsDir(cacheDir), { recursive: true });
  return createExclusive(recordPath(cacheDir, rec.name), stableJson(rec));
}

/** A YAML file under params/ (the only files an override may change), as a posix path without `..`. */
export function isParamsYaml(file: string): boolean {
  const norm = posix.normalize(toPosix(file));
  return norm.startsWith('params/') && /\.ya?ml$/.test(norm);
}

/**
 * A record read from disk is data anyone with write access to the cache may have edited: its name must be
 * its file's, its workspace the one under exp-workspaces/ and every override file a YAML file under params/.
 */
function checkRecord(data: unknown, name: string, cacheDir: string): ExpRecord {
  const file = recordPath(cacheDir, name);
  const bad = (why: string): never => {
    throw configError(`experiment record '${name}' is not valid: ${why}; not using it`, {
      file,
      subject: name,
      notes: [`delete ${file} if you did not write it`],
    });
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return bad('not a JSON object');
  const rec = data as Partial<ExpRecord>;
  if (rec.name !== name) bad(`its name is ${JSON.stringify(rec.name)}, not its file's`);
  if (typeof rec.status !== 'string' || !STATUSES.has(rec.status)) bad(`unknown status ${JSON.stringify(rec.status)}`);
  if (!Array.isArray(rec.overrides)) return bad('overrides is not a list');
  for (const o of rec.overrides as unknown[]) {
    const ov = o as Partial<ParamOverride> | null;
    if (typeof ov?.file !== 'string' || typeof ov.key !== 'string') bad('an override has no file or key');
    else if (!isParamsYaml(ov.file)) bad(`override file '${ov.file}' is not a YAML file under params/`);
  }
  if (rec.placement !== undefined) {
    const p = placementFromJson(rec.placement, EXECUTOR_NAMES);
    if (typeof p === 'string') bad(p);
  }
  if (rec.workspace !== undefined && (typeof rec.workspace !== 'string' || resolve(rec.workspace) !== resolve(workspacesDir(cacheDir), name))) {
    bad(`workspace '${String(rec.workspace)}' is not ${join(workspacesDir(cacheDir), name)}`);
  }
  return withLiveness(rec as ExpRecord);
}

/** A `running` record whose process is gone shows as failed: it will never record a result. */
function withLiveness(rec: ExpRecord): ExpRecord {
  const owner = rec.status === 'running' ? parseProcessOwner(rec.owner) : undefined;
  if (!owner || !ownerGone(owner)) return rec;
  return { ...rec, status: 'failed', error: rec.error ?? `its process (pid ${owner.pid}) ended without recording a result` };
}

export async function readRecord(cacheDir: string, name: string): Promise<ExpRecord> {
  checkName(name);
  let text: string;
  try {
    text = await fs.readFile(recordPath(cacheDir, name), 'utf8');
  } catch {
    const known = (await listNames(cacheDir)).slice(0, 10);
    throw configError(`no experiment named '${name}'`, {
      subject: name,
      notes: known.length ? [`known: ${known.join(', ')}`] : ["run 'rallycut exp run' first"],
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw configError(`experiment record '${name}' is not valid JSON: ${(err as Error).message}`, { file: recordPath(cacheDir, name), subject: name });
  }
  return checkRecord(data, name, cacheDir);
}

export async function listNames(cacheDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(expsDir(cacheDir));
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.endsWith('.json') && !e.startsWith('.'))
    .map((e) => e.slice(0, -5))
    .sort();
}

/** All valid records, read concurrently; a damaged or invalid file is skipped rather than hiding the others. */
export async function readAll(cacheDir: string): Promise<ExpRecord[]> {
  const names = await listNames(cacheDir);
  const recs = await Promise.all(names.map((n) => readRecord(cacheDir, n).catch(() => undefined)));
  return recs.filter((r): r is ExpRecord => r !== undefined).sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
}

/** `exp-<6 hex>` not yet taken; deterministic names come from -n. */
export async function freshName(cacheDir: string, taken: ReadonlySet<string> = new Set()): Promise<string> {
  const existing = new Set([...(await listNames(cacheDir)), ...taken]);
  for (;;) {
    const name = `exp-${Math.floor(Math.random() * 0xffffff)
      .toString(16)
      .padStart(6, '0')}`;
    if (!existing.has(name)) return name;
  }
}

/** Scalars of a JSON value by dotted path; arrays are skipped (per-video lists belong in plots). */
export function flattenScalars(
  value: unknown,
  prefix = '',
  out: Record<string, number | string | boolean | null> = {},
): Record<string, number | string | boolean | null> {
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    if (prefix) out[prefix] = value;
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    for (const key of Object.keys(value).sort()) flattenScalars((value as Record<string, unknown>)[key], prefix ? `${prefix}.${key}` : key, out);
  }
  return out;
}
