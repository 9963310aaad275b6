// Params files (YAML): loading with positions, dotted-path lookup, the values a stage tracks, and `-S`
// overrides for experiments. Bare keys in pipeline.yaml live in params/default.yaml.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isScalar, parse as parseYaml } from 'yaml';
import { configError, RallycutError, toDiagnostics, type Diagnostic } from '../diagnostics.js';
import { getParam, setParam, splitKey } from './path.js';
import type { ParamRef, ParamValues } from '../pipeline/types.js';
import { YamlSource } from '../pipeline/yaml-source.js';
import { DEFAULT_PARAMS_FILE } from '../project.js';
import { decodeUtf8 } from '../utf8.js';

export interface ParamsFile {
  readonly file: string; // posix, relative to the project root
  readonly values: unknown; // plain data, overrides applied
  readonly source: YamlSource;
}

/** `rallycut exp run -S [file:]key=value`: one value replaced before anything reads the file. */
export interface ParamOverride {
  readonly file: string;
  readonly key: string;
  readonly value: unknown;
}

export type ParamsResult = { ok: true; params: ParamsFile } | { ok: false; missing: boolean; diagnostics: Diagnostic[] };

export { getParam, splitKey, type Found } from './path.js';

/** Loads params files once per instance (one pipeline load), applying overrides. */
export class ParamsLoader {
  private readonly cache = new Map<string, Promise<ParamsResult>>();
  constructor(
    readonly root: string,
    readonly overrides: readonly ParamOverride[] = [],
  ) {}

  load(file: string): Promise<ParamsResult> {
    let result = this.cache.get(file);
    if (!result) {
      result = this.read(file);
      this.cache.set(file, result);
    }
    return result;
  }

  /** Every file read, with the text parsed (null: absent), for the parse cache's key (see pipeline/load.ts). */
  readonly texts = new Map<string, string | null>();

  private async read(file: string): Promise<ParamsResult> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(join(this.root, file));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') this.texts.set(file, null);
      return {
        ok: false,
        missing: code === 'ENOENT',
        diagnostics: [{ kind: 'config', message: `cannot read params file '${file}' (${code ?? (err as Error).message})`, file }],
      };
    }
    let text: string;
    try {
      text = decodeUtf8(bytes, file);
    } catch (err) {
      return { ok: false, missing: false, diagnostics: toDiagnostics(err) };
    }
    this.texts.set(file, text);
    return parseParamsText(file, text, this.overrides);
  }
}

/** A params file's text → its values with the overrides for it applied, or positioned diagnostics. */
export function parseParamsText(file: string, text: string, overrides: readonly ParamOverride[]): ParamsResult {
  const { source, diagnostics } = YamlSource.parse(file, text);
  if (diagnostics.length) return { ok: false, missing: false, diagnostics };
  const js = source.toJS();
  if ('error' in js) return { ok: false, missing: false, diagnostics: [js.error] };
  const values: unknown = js.value ?? {};
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    return { ok: false, missing: false, diagnostics: [{ kind: 'config', message: `params file '${file}' must hold a mapping of keys`, ...source.range([]) }] };
  }
  const problems: Diagnostic[] = [];
  for (const o of overrides.filter((o) => o.file === file)) {
    if (!setParam(values, o.key, structuredClone(o.value))) problems.push(unknownKey(source, o.key, 'cannot override'));
  }
  if (problems.length) return { ok: false, missing: false, diagnostics: problems };
  return { ok: true, params: { file, values, source } };
}

function unknownKey(source: YamlSource, key: string, what: string): Diagnostic {
  const found = getParam(source.doc.toJS(), key);
  const missing = found.found ? key : found.missing;
  const parent = missing.split('.').slice(0, -1);
  const range = source.range(parent.length ? splitKey(parent.join('.')) : [], 'key');
  return { kind: 'config', message: `${what} '${key}': ${source.file} has no key '${missing}'`, ...range, subject: key };
}

/** The values of the tracked keys, per file. A key naming an object tracks its whole subtree. */
export async function loadParamValues(root: string, refs: readonly ParamRef[], overrides: readonly ParamOverride[] = []): Promise<ParamValues> {
  const loader = new ParamsLoader(root, overrides);
  const out: Record<string, Record<string, unknown>> = {};
  const problems: Diagnostic[] = [];
  for (const ref of refs) {
    const result = await loader.load(ref.file);
    if (!result.ok) {
      problems.push(...result.diagnostics);
      continue;
    }
    const values = (out[ref.file] ??= {});
    for (const key of ref.keys) {
      const found = getParam(result.params.values, key);
      if (found.found) values[key] = structuredClone(found.value);
      else problems.push(unknownKey(result.params.source, key, 'unknown param'));
    }
  }
  if (problems.length) throw new RallycutError(problems);
  return out;
}

/** Parses `[file:]key=value`; the value is read as a YAML scalar (or flow collection). */
export function parseOverride(spec: string, defaultFile: string = DEFAULT_PARAMS_FILE): ParamOverride {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw configError(`invalid param override '${spec}'`, { notes: ['write key=value or params/file.yaml:key=value'], subject: spec });
  const target = spec.slice(0, eq);
  const raw = spec.slice(eq + 1);
  const colon = target.lastIndexOf(':');
  const file = colon > 0 ? target.slice(0, colon) : defaultFile;
  const key = colon > 0 ? target.slice(colon + 1) : target;
  if (!key || key.split('.').some((s) => s === '')) throw configError(`invalid param key '${key}' in override '${spec}'`, { subject: spec });
  let value: unknown;
  try {
    value = raw === '' ? '' : parseYaml(raw);
  } catch {
    value = raw;
  }
  return { file, key, value };
}

/**
 * Rewrites params files with the overrides applied, keeping comments and layout. Returns the new text per
 * file (the caller writes them, e.g. into an experiment workspace). Unknown keys are config errors.
 */
export async function applyOverrides(root: string, overrides: readonly ParamOverride[]): Promise<{ file: string; text: string }[]> {
  const files = [...new Set(overrides.map((o) => o.file))].sort();
  const problems: Diagnostic[] = [];
  const out: { file: string; text: string }[] = [];
  for (const file of files) {
    const result = await new ParamsLoader(root).load(file);
    if (!result.ok) {
      problems.push(...result.diagnostics);
      continue;
    }
    const { source } = result.params;
    let ok = true;
    for (const o of overrides.filter((x) => x.file === file)) {
      if (!getParam(source.doc.toJS(), o.key).found) {
        problems.push(unknownKey(source, o.key, 'cannot override'));
        ok = false;
        continue;
      }
      // Change a scalar in place so its trailing comment stays; replace collections whole.
      const node = source.doc.getIn(splitKey(o.key), true);
      if (isScalar(node) && (o.value === null || typeof o.value !== 'object')) node.value = o.value;
      else source.doc.setIn(splitKey(o.key), source.doc.createNode(o.value));
    }
    if (ok) out.push({ file, text: source.doc.toString() });
  }
  if (problems.length) throw new RallycutError(problems);
  return out;
}
