// Parses and resolves pipeline.yaml (the slow path of load.ts). Every problem found (syntax, schema,
// handlers, params, interpolation, paths, graph) is collected with its position and thrown together as one
// RallycutError.
import { posix } from 'node:path';
import { RallycutError, configError, dedupe, sortByPosition, type Diagnostic } from '../diagnostics.js';
import { graphDiagnostics, missingDepDiagnostics } from '../graph/build.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { ParamsLoader } from '../params.js';
import { outConflict, reservedPaths, type ReservedPaths } from '../paths/policy.js';
import { cacheDirFor, DEFAULT_PARAMS_FILE } from '../project.js';
import type { LoadOptions } from './load.js';
import { interpolateDeep, type Context } from './interpolate.js';
import { MAX_STAGES, originOf, resolveStageEntry, yieldToSignals } from './resolve.js';
import { validatePipelineConfig, type PipelineConfig } from './schema.js';
import type { Pipeline, SourceRange, Stage } from './types.js';
import { configAt, YamlSource, type YamlPath } from './yaml-source.js';

/**
 * pipeline.yaml's text → the resolved Pipeline, or every problem at once. Also returns the params/vars files
 * read (null: absent), which with the text decide the result (the parse cache's key, see load.ts).
 */
export async function parsePipeline(root: string, file: string, text: string, registry: HandlerRegistry, opts: LoadOptions = {}): Promise<{ pipeline: Pipeline; reads: ReadonlyMap<string, string | null> }> {
  const { source, diagnostics: syntax } = YamlSource.parse(file, text, { interpolation: true });
  if (syntax.length) throw new RallycutError(syntax);
  const js = source.toJS();
  if ('error' in js) throw new RallycutError(js.error);
  const config = (js.value ?? {}) as unknown;
  const cacheDir = opts.cacheDir ?? cacheDirFor(root);
  const schema = await validatePipelineConfig(config, source, cacheDir);
  if (schema.fatal) throw new RallycutError(schema.diagnostics);

  const problems: Diagnostic[] = [...schema.diagnostics];
  const report = (d: Diagnostic): void => void problems.push(d);
  const warnings: Diagnostic[] = [];
  const warn = (d: Diagnostic): void => void warnings.push(d);
  const params = new ParamsLoader(root, opts.paramOverrides ?? []);
  const pc = config as PipelineConfig;
  const { ctx, origin, broken } = await buildContext(root, source, params, pc.vars ?? [], report);
  // Every name a broken file held would be reported once per use ("'x' is not defined", dozens of them on
  // the default pipeline): the file's own error is the one to fix.
  if (broken) throw new RallycutError(sortByPosition(dedupe(problems)));

  // Every -S override must name an existing key, even in a file no stage reads.
  for (const overrideFile of new Set((opts.paramOverrides ?? []).map((o) => o.file))) {
    const loaded = await params.load(overrideFile);
    if (loaded.ok) continue;
    if (loaded.missing) report({ kind: 'config', message: `params file '${overrideFile}' named by a -S override does not exist`, subject: overrideFile });
    else loaded.diagnostics.forEach(report);
  }

  const reserved = reservedPaths({ root, cacheDir });
  const stages = new Map<string, Stage>();
  const signal = opts.signal;
  let entryCount = 0;
  entries: for (const [name, stageConfig] of Object.entries(pc.stages ?? {})) {
    if (schema.badStages.has(name)) continue;
    if (entryCount++ % 100 === 0) await yieldToSignals(signal);
    for (const stage of await resolveStageEntry({ source, registry, params, ctx, origin, cacheDir, reserved, report, warn, ...(signal ? { signal } : {}) }, name, stageConfig)) {
      if (stages.size === MAX_STAGES) {
        report(configAt(stage.source, `the pipeline has more than ${MAX_STAGES} stages`, { notes: ['split it, or sweep with `rallycut exp run` instead of a matrix'] }));
        break entries;
      }
      if (stages.has(stage.name)) {
        report(configAt(stage.source, `stage name '${stage.name}' is defined twice`, { notes: [`first defined at ${stages.get(stage.name)!.source.file}:${stages.get(stage.name)!.source.start.line}`] }));
        continue;
      }
      stages.set(stage.name, stage);
    }
  }
  // Only now are all params files known (a later stage may read one an earlier stage writes).
  problems.push(...reservedOutDiagnostics(stages.values(), reservedPaths({ root, cacheDir, paramsFiles: params.texts.keys() })));
  const pipeline: Pipeline = { root, file, stages, reads: [...params.texts.keys()], ...(warnings.length ? { warnings: sortByPosition(dedupe(warnings)) } : {}) };
  // Missing deps are only meaningful once every stage resolved (a skipped stage may be the producer).
  const complete = problems.length === 0;
  problems.push(...graphDiagnostics(pipeline));
  if (complete && opts.checkDeps !== false) problems.push(...missingDepDiagnostics(pipeline));
  if (problems.length) throw new RallycutError(sortByPosition(dedupe(problems)));
  return { pipeline, reads: params.texts };
}

/** Outs that would delete the repository, the cache, pipeline.yaml/lock or a params file before their stage runs. */
function reservedOutDiagnostics(stages: Iterable<Stage>, reserved: ReservedPaths): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const stage of stages) {
    stage.outs.forEach((out, i) => {
      const conflict = outConflict(out.path, reserved);
      if (!conflict) return;
      const message = `${out.kind} '${out.path}' ${conflict}; the stage would delete it before running`;
      problems.push(configAt(stage.ranges?.outs[i] ?? stage.source, message, { subject: stage.name, notes: ['name a file or folder of its own that the stage writes'] }));
    });
  }
  return problems;
}

/** The interpolation context and, per dotted key, the params file (or `vars[i]`) that defined it. */
export interface BuiltContext {
  ctx: Context;
  origin: ReadonlyMap<string, string>;
  /** A params or vars file could not be read (broken YAML, missing file or key): names it holds are unknown. */
  broken: boolean;
}

/** The interpolation context: params/default.yaml (as DVC reads params.yaml), then each `vars` entry. */
async function buildContext(root: string, source: YamlSource, params: ParamsLoader, vars: readonly (string | Record<string, unknown>)[], report: (d: Diagnostic) => void): Promise<BuiltContext> {
  const ctx: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  let broken = false;
  const defaults = await params.load(DEFAULT_PARAMS_FILE);
  if (defaults.ok) merge(ctx, defaults.params.values as Record<string, unknown>, DEFAULT_PARAMS_FILE, origin, () => undefined);
  else if (!defaults.missing) {
    defaults.diagnostics.forEach(report);
    broken = true;
  }
  // As DVC's Context.merge_from: a file listed whole twice is read once; listing it whole and in part, or
  // the same key of it twice, is an error.
  const imported = new Map<string, 'all' | Set<string>>([[DEFAULT_PARAMS_FILE, 'all']]);

  for (let i = 0; i < vars.length; i++) {
    const item = vars[i]!;
    const range = source.range(['vars', i]);
    let values: Record<string, unknown>;
    let label: string;
    if (typeof item === 'string') {
      // `file.yaml` or `file.yaml:key1,key2`, as in DVC.
      const colon = item.lastIndexOf(':');
      const file = posix.normalize(colon > 0 ? item.slice(0, colon) : item);
      const keys = colon > 0 ? item.slice(colon + 1).split(',').map((k) => k.trim()).filter(Boolean) : undefined;
      if (file.startsWith('../') || posix.isAbsolute(file)) {
        report(configAt(range, `vars file '${file}' is outside the project`));
        continue;
      }
      if (file === DEFAULT_PARAMS_FILE) {
        // Loaded first, whole; naming it (or some of its keys) again adds nothing.
        if (keys) for (const k of keys) await checkVarsKey(params, file, k, range, report);
        continue;
      }
      const before = imported.get(file);
      if (before === 'all' && !keys) continue;
      const again = before === 'all' ? 'it is already loaded whole' : before && !keys ? 'some of its keys are already loaded' : before && keys?.some((k) => before.has(k)) ? `key '${keys.find((k) => before.has(k))}' of it is already loaded` : undefined;
      if (again) {
        report(configAt(range, `cannot load vars '${item}': ${again}`, { notes: ['list a vars file once, whole or by keys (as in DVC)'] }));
        continue;
      }
      const loaded = await params.load(file);
      if (!loaded.ok) {
        if (loaded.missing) report(configAt(range, `vars file '${file}' does not exist`));
        else loaded.diagnostics.forEach(report);
        broken = true;
        continue;
      }
      const all = loaded.params.values as Record<string, unknown>;
      values = {};
      for (const k of keys ?? Object.keys(all)) {
        if (k in all) values[k] = all[k];
        else {
          report(configAt(range, `vars file '${file}' has no key '${k}'`));
          broken = true;
        }
      }
      if (keys) imported.set(file, new Set([...(before instanceof Set ? before : []), ...keys]));
      else imported.set(file, 'all');
      label = file;
    } else {
      rejectInterpolation(source, ['vars', i], item, report);
      values = item;
      label = `vars[${i}]`;
    }
    merge(ctx, values, label, origin, (key, prior) =>
      report(configAt(range, `var '${key}' is already defined by ${prior}`, { notes: ['vars may add keys but not redefine them (as in DVC)'] })),
    );
  }
  return { ctx, origin, broken };
}

async function checkVarsKey(params: ParamsLoader, file: string, key: string, range: SourceRange, report: (d: Diagnostic) => void): Promise<void> {
  const loaded = await params.load(file);
  if (loaded.ok && !(key in (loaded.params.values as Record<string, unknown>))) report(configAt(range, `vars file '${file}' has no key '${key}'`));
}

/** Inline vars are data, never templates: DVC refuses `${...}` in them, and so do we (at the `${`). */
function rejectInterpolation(source: YamlSource, at: YamlPath, value: unknown, report: (d: Diagnostic) => void): void {
  interpolateDeep(value, {}, (p, problem) => {
    report(configAt(source.rangeWithin([...at, ...p], problem.expr, problem.occurrence), `vars cannot use \${...} ('${problem.expr}'); write the value itself`));
  });
}

function merge(target: Record<string, unknown>, src: Record<string, unknown>, label: string, origin: Map<string, string>, conflict: (key: string, prior: string) => void, prefix = ''): void {
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

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
