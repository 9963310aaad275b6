// StageConfig (as written) → Stage (resolved): interpolation, foreach/matrix expansion, paths made
// project-relative and checked, params checked against their files, handler `with:` validated.
import { failure, type Diagnostic } from '../diagnostics.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { getParam, type ParamsLoader } from '../params/params.js';
import { projectPath, wdirConflict, type ReservedPaths } from '../paths/policy.js';
import { DEFAULT_PARAMS_FILE } from '../project.js';
import {
  describe,
  hasInterpolation,
  interpolateDeep,
  interpolationsInQuotes,
  interpolateString,
  suggest,
  type Context,
  type InterpolationProblem,
  type QuoteMode,
  type Track,
} from './interpolate.js';
import { copyContext, interpolatedParams, loadVars, type VarsContext } from './vars.js';
import { validateWith, type StageBodyConfig, type GeneratorConfig } from './schema.js';
import type { ExecutorConfig, HeadlineKey, OutKind, OutSpec, ParamRef, SourceRange, Stage, StageAction } from './types.js';
import { configAt, type YamlPath, type YamlSource } from './yaml-source.js';

export interface ResolveEnv {
  readonly source: YamlSource;
  readonly registry: HandlerRegistry;
  readonly params: ParamsLoader;
  readonly ctx: Context;
  /** The top-level context with the source of each key (see vars.ts); ctx is its values. */
  readonly vars?: VarsContext;
  /** Told of each name a `${...}` in the stage being resolved used. */
  readonly track?: Track;
  /** Where compiled validators are cached (see validators.ts); undefined keeps them in memory only. */
  readonly cacheDir?: string;
  /** Paths no wdir may be in (outs are checked once every stage is resolved, see parse.ts). */
  readonly reserved: ReservedPaths;
  /** Checked between stages: a big matrix stops loading on SIGTERM or Ctrl-C. */
  readonly signal?: AbortSignal;
  report(d: Diagnostic): void;
  warn(d: Diagnostic): void;
}

/** The most stages a pipeline may have: far above any real sweep, low enough to load in seconds. */
export const MAX_STAGES = 5000;

/** Awaiting settled promises never lets a signal handler run: the event loop gets a turn now and then. */
export async function yieldToSignals(signal: AbortSignal | undefined): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw failure('interrupted while loading pipeline.yaml');
}

/** Expands one entry of `stages:` into its stages (several for foreach/matrix). */
export async function resolveStageEntry(env: ResolveEnv, name: string, config: StageBodyConfig | GeneratorConfig): Promise<Stage[]> {
  const path: YamlPath = ['stages', name];
  const source = env.source.range(path, 'key');
  if (!('do' in config) && !('foreach' in config) && !('matrix' in config)) {
    const stage = await resolveBody(env, name, config, path, env.ctx, source, []);
    return stage ? [stage] : [];
  }
  const gen = config as GeneratorConfig;
  const items = expandItems(env, name, gen);
  warnIfOverwriting(env, name, gen, items);
  const stages: Stage[] = [];
  const seen = new Set<string>();
  for (const [i, item] of items.entries()) {
    if (i % 100 === 99) await yieldToSignals(env.signal);
    const full = `${name}@${item.suffix}`;
    if (seen.has(full)) {
      env.report(configAt(source, `foreach/matrix of stage '${name}' generates '${full}' twice`, { notes: ['items must give distinct names'] }));
      continue;
    }
    seen.add(full);
    const stage = await resolveBody(env, full, gen.do, [...path, 'do'], { ...env.ctx, ...item.vars }, source, Object.keys(item.vars));
    if (stage) stages.push(stage);
  }
  return stages;
}

/** As DVC: a `vars` or params key named like a generated one (`item`, `key`) is shadowed in the generated stages. */
function warnIfOverwriting(env: ResolveEnv, name: string, gen: GeneratorConfig, items: readonly Item[]): void {
  const shadowed = ['key', 'item'].filter((k) => items.some((i) => k in i.vars) && Object.hasOwn(env.ctx, k));
  if (!shadowed.length) return;
  const field = gen.foreach !== undefined ? 'foreach' : 'matrix';
  env.warn(
    configAt(
      env.source.range(['stages', name, field], 'key'),
      `${shadowed.join(' and ')} ${shadowed.length === 1 ? 'is' : 'are'} already specified, will be overwritten for stages generated from '${name}'`,
      {
        subject: name,
        severity: 'warning',
        notes: [`inside ${field}, \${${shadowed[0]}} is the generated value; rename the var to reach it`],
      },
    ),
  );
}

interface Item {
  suffix: string;
  vars: Record<string, unknown>;
}

function expandItems(env: ResolveEnv, name: string, gen: GeneratorConfig): Item[] {
  if (gen.foreach !== undefined && gen.matrix !== undefined) {
    env.report(configAt(env.source.range(['stages', name, 'matrix'], 'key'), `stage '${name}' has both foreach and matrix; use one`));
    return [];
  }
  if (gen.foreach !== undefined) {
    const list = typedList(env, ['stages', name, 'foreach'], gen.foreach, true);
    if (list === undefined) return [];
    const count = Array.isArray(list) ? list.length : Object.keys(list).length;
    if (count > MAX_STAGES) {
      env.report(
        configAt(
          env.source.range(['stages', name, 'foreach'], 'key'),
          `foreach of stage '${name}' would generate ${count} stages; at most ${MAX_STAGES} are allowed`,
        ),
      );
      return [];
    }
    if (Array.isArray(list)) return list.map((item, i) => ({ suffix: isScalar(item) ? String(item) : String(i), vars: { item } }));
    return Object.entries(list).map(([key, item]) => ({ suffix: key, vars: { key, item } }));
  }
  const axes: [string, unknown[]][] = [];
  for (const [axis, values] of Object.entries(gen.matrix ?? {})) {
    const list = typedList(env, ['stages', name, 'matrix', axis], values, false);
    if (list === undefined || !Array.isArray(list)) return [];
    axes.push([axis, list]);
  }
  const count = axes.reduce((n, [, values]) => n * values.length, 1);
  if (count > MAX_STAGES) {
    const sizes = axes.map(([axis, values]) => `${axis}: ${values.length}`).join(' × ');
    env.report(
      configAt(
        env.source.range(['stages', name, 'matrix'], 'key'),
        `matrix of stage '${name}' would generate ${count} stages (${sizes}); at most ${MAX_STAGES} are allowed`,
      ),
    );
    return [];
  }
  let combos: { parts: string[]; item: Record<string, unknown> }[] = [{ parts: [], item: {} }];
  for (const [axis, values] of axes) {
    combos = combos.flatMap((c) => values.map((v, i) => ({ parts: [...c.parts, isScalar(v) ? String(v) : `${axis}${i}`], item: { ...c.item, [axis]: v } })));
  }
  return combos.map((c) => {
    const suffix = c.parts.join('-');
    return { suffix, vars: { key: suffix, item: c.item } }; // DVC's ${key} in a matrix: the name suffix
  });
}

function typedList(env: ResolveEnv, path: YamlPath, value: unknown, allowMap: boolean): unknown[] | Record<string, unknown> | undefined {
  // `${...}` anywhere in the data resolves, as in DVC (a whole-string `${x}` keeps x's type).
  let failed = false;
  const v = interpolateDeep(value, env.ctx, (p, problem) => {
    failed = true;
    reportProblems(env, [...path, ...p], [problem]);
  });
  if (failed) return undefined;
  if (Array.isArray(v)) return v;
  if (allowMap && v !== null && typeof v === 'object') return v as Record<string, unknown>;
  env.report(
    configAt(
      env.source.range(path),
      `${path[path.length - 1] === 'foreach' ? 'foreach' : `matrix axis '${String(path[path.length - 1])}'`} must be a list${allowMap ? ' or a mapping' : ''}, got ${describe(v)}`,
    ),
  );
  return undefined;
}

function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function reportProblems(env: ResolveEnv, path: YamlPath, problems: readonly InterpolationProblem[]): void {
  for (const p of problems) env.report(configAt(env.source.rangeWithin(path, p.expr, p.occurrence), p.message, p.notes ? { notes: p.notes } : {}));
}

async function resolveBody(
  env: ResolveEnv,
  name: string,
  body: StageBodyConfig,
  path: YamlPath,
  ctx: Context,
  source: SourceRange,
  generated: readonly string[],
): Promise<Stage | undefined> {
  let ok = true;
  const report = (d: Diagnostic): void => {
    ok = false;
    env.report({ ...d, subject: d.subject ?? name });
  };
  const used: (readonly (string | number)[])[] = [];
  const track: Track = (parts) => void used.push(parts);
  // A stage's own `vars` (DVC: files relative to its wdir, which itself cannot use them) extend a private copy.
  let vars = env.vars;
  if (body.vars?.length && vars) {
    vars = copyContext(vars, Object.fromEntries(generated.map((k) => [k, ctx[k]])));
    const at: YamlPath = [...path, 'vars'];
    const wdirText = body.wdir === undefined ? '.' : interpolateString(body.wdir, ctx, 'none').value;
    await loadVars({ source: env.source, params: env.params, report }, vars, body.vars, at, wdirText);
    if (!ok) return undefined;
    ctx = vars.ctx;
  }
  const local: ResolveEnv = { ...env, ctx, report, track };
  const text = (p: YamlPath, value: string, quote: QuoteMode): string => {
    const r = interpolateString(value, ctx, quote, track);
    reportProblems(local, p, r.problems);
    return r.value;
  };

  const action = await resolveAction(local, name, body, path, text);
  const wdirRange = env.source.range([...path, 'wdir']);
  let wdir = normalizePath(local, body.wdir === undefined ? '.' : text([...path, 'wdir'], body.wdir, 'none'), '.', wdirRange, 'wdir') ?? '.';
  const wdirProblem = wdirConflict(wdir, env.reserved);
  if (wdirProblem) {
    report(configAt(wdirRange, `wdir '${wdir}' ${wdirProblem}; a stage may not work there`));
    wdir = '.';
  }

  const deps: string[] = [];
  const depRanges: SourceRange[] = [];
  (body.deps ?? []).forEach((d, i) => {
    const p = normalizePath(local, text([...path, 'deps', i], d, 'none'), wdir, env.source.range([...path, 'deps', i]), 'dep');
    if (p !== undefined && !deps.includes(p)) {
      deps.push(p);
      depRanges.push(env.source.range([...path, 'deps', i]));
    }
  });

  const outs: OutSpec[] = [];
  const outRanges: SourceRange[] = [];
  const kinds: [keyof StageBodyConfig & ('outs' | 'metrics' | 'plots'), OutKind][] = [
    ['outs', 'out'],
    ['metrics', 'metric'],
    ['plots', 'plot'],
  ];
  for (const [field, kind] of kinds) {
    (body[field] ?? []).forEach((item, i) => {
      const written = typeof item === 'string' ? item : Object.keys(item)[0]!;
      const opts = typeof item === 'string' ? null : (item[written] ?? null);
      const at: YamlPath = typeof item === 'string' ? [...path, field, i] : [...path, field, i, written];
      const raw = typeof item === 'string' ? text(at, written, 'none') : interpolateKey(local, at, written);
      const range = typeof item === 'string' ? env.source.range(at) : env.source.range(at, 'key');
      const p = normalizePath(local, raw, wdir, range, kind);
      if (p === undefined) return;
      const headline = opts?.headline ? headlineKeys(env, [...at, 'headline'], opts.headline) : undefined;
      outs.push({ path: p, kind, cache: opts?.cache ?? true, persist: opts?.persist ?? false, ...(headline ? { headline } : {}) });
      outRanges.push(range);
    });
  }

  const params = await resolveParams(local, body, path, text);
  const executor = resolveExecutor(local, body, path);
  if (!ok || !action) return undefined;
  const interpolated = interpolatedParams(used, vars?.origin, generated, params);
  return {
    ...(interpolated.length ? { interpolatedParams: interpolated } : {}),
    name,
    action,
    wdir,
    deps,
    params,
    outs,
    frozen: body.frozen ?? false,
    alwaysChanged: body.always_changed ?? false,
    executor,
    source,
    ranges: { deps: depRanges, outs: outRanges },
  };
}

/**
 * A multi-line `cmd:` string as DVC runs it: one command per line, so a failing line stops the stage
 * (one `sh -c` over the whole text would go on after it). Blank lines are dropped; a line ending in `\`
 * continues on the next.
 */
function commandLines(cmd: string): string[] {
  const lines: string[] = [];
  let pending = '';
  for (const line of cmd.split(/\r?\n/)) {
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1);
      continue;
    }
    const whole = pending + line;
    pending = '';
    if (whole.trim()) lines.push(whole);
  }
  if (pending.trim()) lines.push(pending);
  return lines;
}

type TextFn = (p: YamlPath, value: string, quote: QuoteMode) => string;

/** A metrics file's `headline:` list (shape checked by the schema): dotted keys, each once. */
function headlineKeys(env: ResolveEnv, at: YamlPath, items: readonly (string | Readonly<Record<string, string>>)[]): HeadlineKey[] {
  const keys: HeadlineKey[] = [];
  items.forEach((item, i) => {
    const key = typeof item === 'string' ? item : Object.keys(item)[0]!;
    const label = typeof item === 'string' ? undefined : item[key];
    const range = env.source.range(typeof item === 'string' ? [...at, i] : [...at, i, key], typeof item === 'string' ? 'value' : 'key');
    if (key.split('.').some((part) => part === '')) {
      env.report(
        configAt(range, `headline metric '${key}' is not a dotted key`, {
          notes: ['write the path of a value in the metrics file, e.g. greedy.f1 for {"greedy": {"f1": 0.9}}'],
        }),
      );
    } else if (keys.some((k) => k.key === key)) {
      env.report(configAt(range, `headline metric '${key}' is listed twice`));
    } else if (label !== undefined && keys.some((k) => k.label === label)) {
      env.report(configAt(range, `headline label '${label}' is used twice in this file`, { notes: ['each column needs its own label'] }));
    } else keys.push({ key, ...(label !== undefined ? { label } : {}) });
  });
  return keys;
}

/** A path written as a mapping key (`- data/x: {cache: false}`): the key's own text holds any `${}`. */
function interpolateKey(env: ResolveEnv, at: YamlPath, written: string): string {
  const r = interpolateString(written, env.ctx, 'none', env.track);
  for (const p of r.problems) env.report(configAt(env.source.rangeWithin(at, p.expr, p.occurrence, 'key'), p.message, p.notes ? { notes: p.notes } : {}));
  return r.value;
}

async function resolveAction(env: ResolveEnv, name: string, body: StageBodyConfig, path: YamlPath, text: TextFn): Promise<StageAction | undefined> {
  const here = env.source.range(path, 'key');
  if (body.cmd !== undefined && body.handler !== undefined) {
    env.report(configAt(here, `stage '${name}' has both cmd and handler; give exactly one`));
    return undefined;
  }
  if (body.cmd === undefined && body.handler === undefined) {
    env.report(
      configAt(here, `stage '${name}' needs a cmd or a handler`, {
        notes: ['cmd: a shell command (or a list of them); handler: a built-in handler with its with: block'],
      }),
    );
    return undefined;
  }
  if (body.cmd !== undefined) {
    if (body.with !== undefined)
      env.report(configAt(env.source.range([...path, 'with'], 'key'), `'with' only applies to handler stages; stage '${name}' has a cmd`));
    const list = Array.isArray(body.cmd) ? body.cmd : [body.cmd];
    const at = (i: number): YamlPath => (Array.isArray(body.cmd) ? [...path, 'cmd', i] : [...path, 'cmd']);
    list.forEach((c, i) => {
      for (const t of interpolationsInQuotes(c)) {
        env.warn(
          configAt(
            env.source.rangeWithin(at(i), t.expr, t.occurrence),
            `${t.expr} sits inside quotes in cmd: there its shell quoting does not hold, and a $(...) or backtick in the value would run`,
            {
              subject: name,
              severity: 'warning',
              notes: ['drop the quotes around it: rallycut quotes every inserted value for the shell itself'],
            },
          ),
        );
      }
    });
    if (Array.isArray(body.cmd)) return { kind: 'cmd', commands: body.cmd.map((c, i) => text(at(i), c, 'shell')) };
    text([...path, 'cmd'], body.cmd, 'shell'); // reports problems positioned in the whole string
    const commands = commandLines(body.cmd).map((line) => interpolateString(line, env.ctx, 'shell').value);
    return { kind: 'cmd', commands };
  }
  const handlerName = text([...path, 'handler'], body.handler!, 'none');
  const handler = await env.registry.get(handlerName);
  if (!handler) {
    const known = await env.registry.names();
    const close = suggest(handlerName, known);
    const notes = [known.length ? `known handlers: ${known.join(', ')}` : 'no handlers are registered'];
    if (close) notes.unshift(`did you mean '${close}'?`);
    env.report(configAt(env.source.range([...path, 'handler']), `unknown handler '${handlerName}'`, { notes }));
    return undefined;
  }
  const withPath = [...path, 'with'];
  const value = interpolateDeep(body.with ?? {}, env.ctx, (p, problem) => reportProblems(env, [...withPath, ...p], [problem]), [], env.track);
  const problems = await validateWith(handler.schema, value, env.source, withPath, handlerName, env.cacheDir);
  for (const d of problems) env.report(d);
  if (problems.length) return undefined;
  return { kind: 'handler', handler: handlerName, with: value as Record<string, unknown> };
}

/** Project-relative posix path, or undefined after reporting an absolute or escaping path. */
function normalizePath(env: ResolveEnv, written: string, wdir: string, range: SourceRange, what: string): string | undefined {
  const p = projectPath(written, wdir);
  if (p.ok) return p.path;
  if (p.problem === 'empty') env.report(configAt(range, `${what} path is empty`));
  else if (p.problem === 'absolute') {
    env.report(
      configAt(range, `${what} '${written}' is an absolute path; paths must stay inside the project`, {
        notes: ['write it relative to the stage wdir (the project root by default)'],
      }),
    );
  } else {
    env.report(
      configAt(range, `${what} '${written}' escapes the project (resolves to '${p.joined}')`, {
        notes: ['every dep, out and wdir must stay inside the project folder'],
      }),
    );
  }
  return undefined;
}

async function resolveParams(env: ResolveEnv, body: StageBodyConfig, path: YamlPath, text: TextFn): Promise<ParamRef[]> {
  const byFile = new Map<string, string[]>();
  const add = (file: string, key: string): void => {
    const keys = byFile.get(file) ?? [];
    if (!keys.includes(key)) keys.push(key);
    byFile.set(file, keys);
  };
  const items = body.params ?? [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (typeof item === 'string') {
      const at = [...path, 'params', i];
      const key = text(at, item, 'none');
      if (hasInterpolation(key)) continue; // already reported
      if (await checkKey(env, DEFAULT_PARAMS_FILE, key, env.source.range(at))) add(DEFAULT_PARAMS_FILE, key);
      continue;
    }
    for (const [writtenFile, keys] of Object.entries(item)) {
      const fileAt = [...path, 'params', i, writtenFile];
      const file = normalizePath(env, writtenFile, '.', env.source.range(fileAt, 'key'), 'params file');
      if (file === undefined) continue;
      const loaded = await env.params.load(file);
      if (!loaded.ok) {
        if (loaded.missing) env.report(configAt(env.source.range(fileAt, 'key'), `params file '${file}' does not exist`));
        else for (const d of loaded.diagnostics) env.report(d);
        continue;
      }
      if (keys === null || keys.length === 0) {
        // DVC's `file.yaml:` with no keys tracks the whole file: every top-level key.
        for (const key of Object.keys(loaded.params.values as Record<string, unknown>)) add(file, key);
        continue;
      }
      for (let j = 0; j < keys.length; j++) {
        const at = [...fileAt, j];
        const key = text(at, keys[j]!, 'none');
        if (hasInterpolation(key)) continue;
        if (await checkKey(env, file, key, env.source.range(at))) add(file, key);
      }
    }
  }
  return [...byFile].map(([file, keys]) => ({ file, keys }));
}

async function checkKey(env: ResolveEnv, file: string, key: string, range: SourceRange): Promise<boolean> {
  const loaded = await env.params.load(file);
  if (!loaded.ok) {
    if (loaded.missing)
      env.report(
        configAt(range, `unknown param '${key}': params file '${file}' does not exist`, {
          notes: [`bare keys in params: are read from ${DEFAULT_PARAMS_FILE}`],
        }),
      );
    else for (const d of loaded.diagnostics) env.report(d);
    return false;
  }
  const found = getParam(loaded.params.values, key);
  if (found.found) return true;
  const parentKey = found.missing.split('.').slice(0, -1).join('.');
  const parent = parentKey ? getParam(loaded.params.values, parentKey) : { found: true as const, value: loaded.params.values };
  const siblings = parent.found && parent.value !== null && typeof parent.value === 'object' ? Object.keys(parent.value) : [];
  const close = suggest(found.missing.split('.').pop()!, siblings);
  const notes = [`${file} has no key '${found.missing}'`];
  if (close) notes.push(`did you mean '${parentKey ? `${parentKey}.` : ''}${close}'?`);
  env.report(configAt(range, `unknown param '${key}' (not in ${file})`, { notes }));
  return false;
}

function resolveExecutor(env: ResolveEnv, body: StageBodyConfig, path: YamlPath): ExecutorConfig {
  const e = body.executor;
  if (e === undefined) return { name: 'local', options: {} };
  if (typeof e === 'string') return { name: e === 'modal' ? 'modal' : 'local', options: {} };
  const { name, ...rest } = e;
  const extra = Object.keys(rest);
  if (name === 'local' && extra.length) {
    env.report(configAt(env.source.range([...path, 'executor', extra[0]!], 'key'), `executor option '${extra[0]}' only applies to executor 'modal'`));
  }
  const options = interpolateDeep(rest, env.ctx, (p, problem) => reportProblems(env, [...path, 'executor', ...p], [problem]), [], env.track) as Record<
    string,
    unknown
  >;
  return { name: name === 'modal' ? 'modal' : 'local', options };
}
