// A stage's `executor: {name: modal, …}` options → the resolved settings of a Modal job. Pure.
// Values may arrive as strings after ${} interpolation, so numbers and units are parsed here:
// timeout: seconds or "90s" / "30m" / "4h"; memory: MiB or "512Mi" / "16Gi" / "16GB".
import { configError } from '../../diagnostics.js';
import type { JobResources } from '../../handler-contract.js';
import { DEFAULT_VOLUME, type ImageSpec } from './backend.js';

export type { JobResources } from '../../handler-contract.js';

export const DEFAULT_IMAGE = 'python:3.11-slim';
export const DEFAULT_TIMEOUT_S = 3600;
export const DEFAULT_RETRIES = 2;

export interface ModalSettings {
  readonly volume: string;
  readonly image: ImageSpec;
  readonly gpu?: string;
  readonly timeoutMs: number;
  readonly memoryMiB?: number;
  readonly cpu?: number;
  readonly retries: number;
  readonly secrets: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Job Sandboxes of one stage (a foreach: all its items) running at once; bounded by -j when unset. */
  readonly concurrency?: number;
  /** Job Sandboxes one repro may start for the stage (a foreach: all its items, retries included). */
  readonly maxSandboxes?: number;
}

export type Where = { subject: string; file?: string; start?: { line: number; column: number } };

function bad(where: Where, key: string, want: string, got: unknown): never {
  throw configError(`executor option '${key}' of stage '${where.subject}' must be ${want}, got ${JSON.stringify(got)}`, where);
}

const TIME_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
const MEM_UNITS: Record<string, number> = { '': 1, mi: 1, mib: 1, m: 1, mb: 1, gi: 1024, gib: 1024, g: 1024, gb: 1024 };

export function parseSeconds(value: unknown, where: Where, key = 'timeout'): number {
  if (typeof value === 'number' && value > 0) return value;
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(value) : null;
  if (!m) return bad(where, key, 'seconds or a duration like "90s", "30m", "4h"', value);
  const seconds = Number(m[1]) * TIME_UNITS[(m[2] ?? 's').toLowerCase()]!;
  return seconds > 0 ? seconds : bad(where, key, 'a positive duration', value);
}

export function parseMiB(value: unknown, where: Where, key = 'memory'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  const m = typeof value === 'string' ? /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(value) : null;
  const unit = m ? MEM_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) return bad(where, key, 'MiB or a size like "512Mi", "16Gi"', value);
  return Number(m[1]) * unit;
}

function parseCount(value: unknown, where: Where, key: string): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 10) return n;
  return bad(where, key, 'a whole number from 0 to 10', value);
}

function parsePositive(value: unknown, where: Where, key: string): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 10_000) return n;
  return bad(where, key, 'a whole number from 1 to 10000', value);
}

function parseStrings(value: unknown, where: Where, key: string): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0)) return [...(value as string[])];
  return bad(where, key, 'a list of strings', value);
}

/** Stage options win over the job's defaults; the job's pip packages and the stage's are both installed. */
export function resolveSettings(options: Readonly<Record<string, unknown>>, defaults: JobResources, where: Where): ModalSettings {
  const known = new Set(['gpu', 'image', 'pip', 'apt', 'timeout', 'memory', 'cpu', 'volume', 'retries', 'secrets', 'env', 'concurrency', 'max_sandboxes']);
  for (const key of Object.keys(options)) if (!known.has(key)) bad(where, key, `one of ${[...known].join(', ')} (unknown option)`, options[key]);
  const str = (key: string): string | undefined => {
    const v = options[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' && v.trim() ? v.trim() : bad(where, key, 'a non-empty string', v);
  };
  const gpu = str('gpu') ?? defaults.gpu;
  const volume = str('volume') ?? DEFAULT_VOLUME;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(volume)) bad(where, 'volume', 'a volume name (letters, digits, . _ -)', volume);
  const timeout = options.timeout !== undefined ? parseSeconds(options.timeout, where) : (defaults.timeout ?? DEFAULT_TIMEOUT_S);
  const memory = options.memory !== undefined ? parseMiB(options.memory, where) : defaults.memory;
  let cpu: number | undefined;
  if (options.cpu !== undefined) {
    cpu = typeof options.cpu === 'string' ? Number(options.cpu) : (options.cpu as number);
    if (typeof cpu !== 'number' || !(cpu > 0)) bad(where, 'cpu', 'a positive number of cores', options.cpu);
  }
  const env: Record<string, string> = {};
  if (options.env !== undefined) {
    if (typeof options.env !== 'object' || options.env === null || Array.isArray(options.env)) bad(where, 'env', 'a map of names to values', options.env);
    for (const [k, v] of Object.entries(options.env as Record<string, unknown>)) env[k] = String(v);
  }
  const pip = [...new Set([...(defaults.pip ?? []), ...parseStrings(options.pip, where, 'pip')])];
  const apt = [...new Set([...(defaults.apt ?? []), ...parseStrings(options.apt, where, 'apt')])];
  const concurrency = options.concurrency !== undefined ? parsePositive(options.concurrency, where, 'concurrency') : undefined;
  const maxSandboxes = options.max_sandboxes !== undefined ? parsePositive(options.max_sandboxes, where, 'max_sandboxes') : undefined;
  return {
    volume,
    image: {
      base: str('image') ?? defaults.image ?? DEFAULT_IMAGE,
      pip,
      ...(apt.length ? { apt } : {}),
      ...(defaults.npm?.length ? { npm: defaults.npm } : {}),
    },
    ...(gpu ? { gpu } : {}),
    timeoutMs: Math.round(timeout * 1000),
    ...(memory !== undefined ? { memoryMiB: memory } : {}),
    ...(cpu !== undefined ? { cpu } : {}),
    retries: options.retries !== undefined ? parseCount(options.retries, where, 'retries') : DEFAULT_RETRIES,
    secrets: parseStrings(options.secrets, where, 'secrets'),
    env,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(maxSandboxes !== undefined ? { maxSandboxes } : {}),
  };
}
