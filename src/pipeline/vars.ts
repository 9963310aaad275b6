// The interpolation context `${...}` reads: params/default.yaml (as DVC reads params.yaml), then the top-level
// `vars`, then a stage's own `vars`; where each key came from (to record the params a stage's text uses);
// and which files are loaded (DVC's rules for listing one twice).
import { posix } from 'node:path';
import type { Diagnostic } from '../diagnostics.js';
import type { ParamsLoader } from '../params/params.js';
import { DEFAULT_PARAMS_FILE } from '../project.js';
import { interpolateDeep } from './interpolate.js';
import type { ParamRef, SourceRange } from './types.js';
import { configAt, type YamlPath, type YamlSource } from './yaml-source.js';

export type VarsEntry = string | Record<string, unknown>;

/** A context being built: values, the source of each dotted key, the files loaded (whole or by keys). */
export interface VarsContext {
  readonly ctx: Record<string, unknown>;
  /** Dotted key → the params file, or `vars[i]` for inline values, that defined it. */
  readonly origin: Map<string, string>;
  readonly imported: Map<string, 'all' | Set<string>>;
  /** A params or vars file could not be read (broken YAML, missing file or key): names it holds are unknown. */
  broken: boolean;
}

export interface VarsEnv {
  readonly source: YamlSource;
  readonly params: ParamsLoader;
  report(d: Diagnostic): void;
}

/** The top-level context: params/default.yaml, then each top-level `vars` entry. */
export async function buildContext(env: VarsEnv, vars: readonly VarsEntry[]): Promise<VarsContext> {
  const c: VarsContext = { ctx: {}, origin: new Map(), imported: new Map([[DEFAULT_PARAMS_FILE, 'all']]), broken: false };
  const defaults = await env.params.load(DEFAULT_PARAMS_FILE);
  if (defaults.ok) merge(c.ctx, defaults.params.values as Record<string, unknown>, DEFAULT_PARAMS_FILE, c.origin, () => undefined);
  else if (!defaults.missing) {
    defaults.diagnostics.forEach(env.report);
    c.broken = true;
  }
  await loadVars(env, c, vars, ['vars'], '.');
  return c;
}

/** A private copy for one stage's own `vars` (merging into the shared one would leak into other stages). */
export function copyContext(c: VarsContext, extra: Readonly<Record<string, unknown>>): VarsContext {
  const imported = new Map([...c.imported].map(([f, v]) => [f, v === 'all' ? v : new Set(v)] as const));
  return { ctx: { ...structuredClone(c.ctx), ...extra }, origin: new Map(c.origin), imported, broken: c.broken };
}

/**
 * Merges `vars` entries (at YAML path `at`) into the context. Files are relative to `wdir`, as in DVC. As
 * DVC's Context.merge_from: a file listed whole twice is read once; listing it whole and by keys, or one key
 * of it twice, is an error; a key an earlier source defined cannot be redefined.
 */
export async function loadVars(env: VarsEnv, c: VarsContext, vars: readonly VarsEntry[], at: YamlPath, wdir: string): Promise<void> {
  const { source, params, report } = env;
  for (let i = 0; i < vars.length; i++) {
    const item = vars[i]!;
    const range = source.range([...at, i]);
    let values: Record<string, unknown>;
    let label: string;
    if (typeof item === 'string') {
      // `file.yaml` or `file.yaml:key1,key2`, as in DVC.
      const colon = item.lastIndexOf(':');
      const file = posix.normalize(posix.join(wdir, colon > 0 ? item.slice(0, colon) : item));
      const keys =
        colon > 0
          ? item
              .slice(colon + 1)
              .split(',')
              .map((k) => k.trim())
              .filter(Boolean)
          : undefined;
      if (file.startsWith('../') || file === '..' || posix.isAbsolute(file)) {
        report(configAt(range, `vars file '${file}' is outside the project`));
        continue;
      }
      if (file === DEFAULT_PARAMS_FILE) {
        // Loaded first, whole; naming it (or some of its keys) again adds nothing.
        if (keys) for (const k of keys) await checkVarsKey(params, file, k, range, report);
        continue;
      }
      const before = c.imported.get(file);
      if (before === 'all' && !keys) continue;
      const again =
        before === 'all'
          ? 'it is already loaded whole'
          : before && !keys
            ? 'some of its keys are already loaded'
            : before && keys?.some((k) => before.has(k))
              ? `key '${keys.find((k) => before.has(k))}' of it is already loaded`
              : undefined;
      if (again) {
        report(configAt(range, `cannot load vars '${item}': ${again}`, { notes: ['list a vars file once, whole or by keys (as in DVC)'] }));
        continue;
      }
      const loaded = await params.load(file);
      if (!loaded.ok) {
        if (loaded.missing) report(configAt(range, `vars file '${file}' does not exist`));
        else loaded.diagnostics.forEach(report);
        c.broken = true;
        continue;
      }
      const all = loaded.params.values as Record<string, unknown>;
      values = {};
      for (const k of keys ?? Object.keys(all)) {
        if (k in all) values[k] = all[k];
        else {
          report(configAt(range, `vars file '${file}' has no key '${k}'`));
          c.broken = true;
        }
      }
      c.imported.set(file, keys ? new Set([...(before instanceof Set ? before : []), ...keys]) : 'all');
      label = file;
    } else {
      rejectInterpolation(source, [...at, i], item, report);
      values = item;
      label = `${at.join('.')}[${i}]`;
    }
    merge(c.ctx, values, label, c.origin, (key, prior) =>
      report(configAt(range, `var '${key}' is already defined by ${prior}`, { notes: ['vars may add keys but not redefine them (as in DVC)'] })),
    );
  }
}

async function checkVarsKey(params: ParamsLoader, file: string, key: string, range: SourceRange, report: (d: Diagnostic) => void): Promise<void> {
  const loaded = await params.load(file);
  if (loaded.ok && !(key in (loaded.params.values as Record<string, unknown>))) report(configAt(range, `vars file '${file}' has no key '${key}'`));
}

/** Inline vars are data, never templates: DVC refuses `${...}` in them, and so do we (at the `${`). */
function rejectInterpolation(source: YamlSource, at: YamlPath, value: unknown, report: (d: Diagnostic) => void): void {
  interpolateDeep(value, {}, (p, problem) => {
    report(
      configAt(source.rangeWithin([...at, ...p], problem.expr, problem.occurrence), `vars cannot use \${...} ('${problem.expr}'); write the value itself`),
    );
  });
}

function merge(
  target: Record<string, unknown>,
  src: Record<string, unknown>,
  label: string,
  origin: Map<string, string>,
  conflict: (key: string, prior: string) => void,
  prefix = '',
): void {
  for (const [k, v] of Object.entries(src)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const existing = target[k];
    if (existing === undefined) {
      target[k] = structuredClone(v);
      origin.set(key, label);
    } else if (isPlainObject(existing) && isPlainObject(v)) {
      merge(existing, v, label, origin, conflict, key);
    } else {
      conflict(key, originOf(origin, key) ?? 'an earlier source');
    }
  }
}

/** The source of a dotted key: the nearest of it and its parents that a source defined. */
export function originOf(origin: ReadonlyMap<string, string>, key: string): string | undefined {
  const parts = key.split('.');
  for (let n = parts.length; n > 0; n--) {
    const o = origin.get(parts.slice(0, n).join('.'));
    if (o) return o;
  }
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The params a stage's `${...}` used, by the file that defined them (params/default.yaml or a vars file):
 * recorded in the lock like `params:` entries, so status names the one that changed. Inline vars and the
 * generated item/key are not params; a key the stage already tracks (itself or a parent) is not repeated.
 */
export function interpolatedParams(
  used: readonly (readonly (string | number)[])[],
  origin: ReadonlyMap<string, string> | undefined,
  generated: readonly string[],
  explicit: readonly ParamRef[],
): ParamRef[] {
  if (!origin) return [];
  const byFile = new Map<string, Set<string>>();
  for (const parts of used) {
    if (generated.includes(String(parts[0]))) continue;
    const key = parts.map(String).join('.');
    const file = originOf(origin, key);
    if (!file || file.includes('vars[')) continue;
    const keys = byFile.get(file) ?? new Set<string>();
    keys.add(key);
    byFile.set(file, keys);
  }
  const under = (key: string, parents: Iterable<string>): boolean => [...parents].some((p) => key === p || key.startsWith(`${p}.`));
  const refs: ParamRef[] = [];
  for (const [file, keys] of [...byFile].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const tracked = explicit.filter((r) => r.file === file).flatMap((r) => r.keys);
    const kept = [...keys]
      .filter(
        (k) =>
          !under(k, tracked) &&
          !under(
            k,
            [...keys].filter((o) => o !== k),
          ),
      )
      .sort();
    if (kept.length) refs.push({ file, keys: kept });
  }
  return refs;
}
