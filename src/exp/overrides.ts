// `-S [file:]key=value` for experiments: checked against the params files before anything is queued
// (file under params/, key present, value of a compatible type), and expanded into sweeps.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configError, RallycutError, type Diagnostic } from '../diagnostics.js';
import { toPosix } from '../fsutil.js';
import { getParam, parseOverride, type ParamOverride } from '../params/params.js';
import { isParamsYaml } from './records.js';

export interface SweepSpec {
  readonly file: string;
  readonly key: string;
  /** One value per sweep point (a single value for a plain override). */
  readonly values: readonly unknown[];
  readonly spec: string;
}

/** Splits on top-level commas ("1e-4,3e-4"), leaving commas inside [..], {..} and quotes alone. */
export function splitSweep(raw: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(raw.slice(start));
  return parts;
}

function parseValue(raw: string, spec: string, key: string): unknown {
  const t = raw.trim();
  try {
    return t === '' ? '' : parseYaml(t);
  } catch (err) {
    throw configError(`cannot parse the value '${raw}' of param '${key}' in -S '${spec}'`, {
      subject: key,
      notes: [(err as Error).message.split('\n')[0] ?? ''],
    });
  }
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'mapping' : typeof v;
}

/** Parses and checks every -S against the params files in `root`; all problems reported together. */
export async function parseSweeps(root: string, specs: readonly string[]): Promise<SweepSpec[]> {
  const problems: Diagnostic[] = [];
  const files = new Map<string, unknown>();
  const out: SweepSpec[] = [];
  for (const spec of specs) {
    try {
      const base = parseOverride(spec);
      const file = toPosix(base.file).replace(/^\.\//, '');
      if (!isParamsYaml(file)) {
        throw configError(`params file '${file}' in -S '${spec}' is outside params/`, {
          subject: file,
          notes: ['overrides may only change YAML files under params/, e.g. -S params/train.yaml:lr=0.001'],
        });
      }
      if (!files.has(file)) {
        let text: string;
        try {
          text = await fs.readFile(join(root, file), 'utf8');
        } catch {
          throw configError(`params file '${file}' in -S '${spec}' does not exist`, { subject: file, file });
        }
        files.set(file, parseYaml(text) ?? {});
      }
      const found = getParam(files.get(file), base.key);
      if (!found.found) throw configError(`unknown param '${base.key}' in -S '${spec}': ${file} has no key '${found.missing}'`, { subject: base.key, file });
      const raw = spec.slice(spec.indexOf('=') + 1);
      const values = splitSweep(raw).map((r) => parseValue(r, spec, base.key));
      const current = found.value;
      for (const v of values) {
        const numeric = typeof current === 'number';
        if ((numeric && typeof v !== 'number') || (typeof current === 'boolean' && typeof v !== 'boolean')) {
          throw configError(`param '${base.key}' in ${file} is a ${typeName(current)} (${JSON.stringify(current)}); cannot set it to '${String(v)}'`, {
            subject: base.key,
            file,
          });
        }
      }
      out.push({ file, key: base.key, values, spec });
    } catch (err) {
      if (err instanceof RallycutError) problems.push(...err.diagnostics);
      else throw err;
    }
  }
  if (problems.length) throw new RallycutError(problems);
  return out;
}

/** The cross product of the sweeps: one override list per experiment. */
export function expandSweeps(sweeps: readonly SweepSpec[]): ParamOverride[][] {
  let combos: ParamOverride[][] = [[]];
  for (const s of sweeps) combos = combos.flatMap((c) => s.values.map((v) => [...c, { file: s.file, key: s.key, value: v }]));
  return combos;
}
