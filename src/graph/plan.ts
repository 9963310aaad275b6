// Pure planning: which stages a `repro` touches, and for each one whether it runs and why (DVC's rules).
// No I/O here: the caller measures fingerprints and out states and passes them in.
import { configError } from '../diagnostics.js';
import type { Fingerprint } from '../fingerprint.js';
import { canonicalJson } from '../fingerprint.js';
import type { LockEntry, LockedOut } from '../lock/types.js';
import type { OutSpec, ParamRef, Stage } from '../pipeline/types.js';
import { toolVersionChange, type VersionDescriber } from './tool-version.js';

export type Decision = 'run' | 'skip' | 'restore-outs' | 'run-cache' | 'frozen';

export interface PlanItem {
  readonly stage: string;
  readonly decision: Decision;
  readonly reasons: readonly string[];
}

/** The part of the DAG planning needs (PipelineGraph satisfies it). */
export interface PlanGraph {
  order(): readonly string[];
  upstream(names: readonly string[]): Iterable<string>;
  downstream(names: readonly string[]): Iterable<string>;
  /** Targets → stage names (names, foreach groups, out paths); expandTargets() when absent. */
  resolveTargets?(targets: readonly string[]): string[];
}

export interface SelectFlags {
  readonly targets: readonly string[];
  readonly single?: boolean;
  readonly downstream?: boolean;
}

export interface OutState {
  readonly spec: OutSpec;
  /** Current hash of the out in the workspace; null when missing. */
  readonly current: { readonly sha256: string } | null;
  /** Whether the locked object for this out is in the object cache. */
  readonly objectPresent: boolean;
}

export interface StageState {
  readonly stage: Stage;
  readonly fingerprint: Fingerprint;
  readonly locked?: LockEntry | undefined;
  readonly outs: readonly OutState[];
  /** The run-cache holds an entry for this fingerprint with all its objects present. */
  readonly runCacheHit: boolean;
  /** The handler's short names for its tool versions, for reasons (the lock keeps the full strings). */
  readonly describeVersion?: VersionDescriber | undefined;
}

export interface DecideOptions {
  readonly forced?: boolean;
  readonly runCache?: boolean;
  /** Static view only: upstream stages that will run before this one. */
  readonly upstreamRunning?: readonly string[];
}

/** Expands targets (stage names, or a foreach/matrix group NAME for all NAME@item) to stage names. */
export function expandTargets(all: readonly string[], targets: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of targets) {
    const hits = all.includes(t) ? [t] : all.filter((n) => n.startsWith(`${t}@`));
    if (hits.length === 0) {
      throw configError(`unknown stage '${t}'`, { subject: t, notes: [`stages: ${all.join(', ') || '(none)'}`] });
    }
    for (const h of hits) if (!out.includes(h)) out.push(h);
  }
  return out;
}

/** The stages a repro touches, in topological order. */
export function selectStages(graph: PlanGraph, flags: SelectFlags): string[] {
  const order = graph.order();
  if (flags.targets.length === 0) return [...order];
  const targets = graph.resolveTargets ? graph.resolveTargets(flags.targets) : expandTargets(order, flags.targets);
  const chosen = new Set(targets);
  if (flags.downstream) for (const n of graph.downstream(targets)) chosen.add(n);
  else if (!flags.single) for (const n of graph.upstream(targets)) chosen.add(n);
  return order.filter((n) => chosen.has(n));
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

/**
 * Why the stage's inputs differ from what pipeline.lock recorded (empty: unchanged). `interpolated` are the
 * params its `${...}` used: one the lock lacks is no change (a lock written before they were recorded), and
 * when one changed, the cmd change it makes is not listed again.
 */
export function inputChanges(fp: Fingerprint, locked: LockEntry, interpolated: readonly ParamRef[] = [], describeVersion?: VersionDescriber): string[] {
  const e = fp.entry;
  const reasons: string[] = [];
  const implicit = (file: string, key: string): boolean => interpolated.some((r) => r.file === file && r.keys.includes(key));
  const paramReasons: string[] = [];
  let implicitChanged = false;
  for (const file of new Set([...Object.keys(e.params), ...Object.keys(locked.params)])) {
    const now = e.params[file] ?? {};
    const before = locked.params[file] ?? {};
    for (const key of [...new Set([...Object.keys(now), ...Object.keys(before)])].sort()) {
      if (!(key in before)) {
        if (!implicit(file, key)) paramReasons.push(`param ${file}:${key} is new`);
      } else if (!(key in now)) paramReasons.push(`param ${file}:${key} is no longer tracked`);
      else if (!same(now[key], before[key])) {
        paramReasons.push(`param ${file}:${key} changed (${shortValue(before[key])} → ${shortValue(now[key])})`);
        if (implicit(file, key)) implicitChanged = true;
      }
    }
  }
  if (!same(e.cmd, locked.cmd) && !implicitChanged) reasons.push('cmd changed');
  if (e.handler !== locked.handler) reasons.push(`handler changed (${locked.handler ?? 'none'} → ${e.handler ?? 'none'})`);
  else if (!same(e.with, locked.with)) reasons.push('handler params (with:) changed');
  if ((e.wdir ?? '.') !== (locked.wdir ?? '.')) reasons.push('wdir changed');
  if ((e.executor ?? 'local') !== (locked.executor ?? 'local')) reasons.push('executor changed');
  const lockedDeps = new Map(locked.deps.map((d) => [d.path, d]));
  for (const d of e.deps) {
    const old = lockedDeps.get(d.path);
    if (!old) reasons.push(`dep '${d.path}' is new`);
    else if (old.sha256 !== d.sha256) reasons.push(`dep '${d.path}' changed`);
  }
  for (const m of fp.missingDeps) reasons.push(`dep '${m}' is missing`);
  const current = new Set([...e.deps.map((d) => d.path), ...fp.missingDeps]);
  for (const d of locked.deps) if (!current.has(d.path)) reasons.push(`dep '${d.path}' was removed`);
  reasons.push(...paramReasons);
  const vNow = e.versions ?? {};
  const vBefore = locked.versions ?? {};
  for (const tool of [...new Set([...Object.keys(vNow), ...Object.keys(vBefore)])].sort()) {
    if (vNow[tool] !== vBefore[tool]) reasons.push(toolVersionChange(tool, vBefore[tool], vNow[tool], describeVersion));
  }
  if (e.stamp !== locked.stamp) reasons.push('external state changed (stamp)');
  return reasons;
}

/** A param value for a status line: scalars as written, anything longer cut short. */
function shortValue(v: unknown): string {
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null');
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

interface OutProblem {
  reason: string;
  /** Can be fixed by checking the recorded object out of the cache. */
  restorable: boolean;
}

function outProblems(outs: readonly OutState[], locked: LockEntry | undefined): { problems: OutProblem[]; setChanged: string[] } {
  const lockedOuts = new Map<string, LockedOut>((locked?.outs ?? []).map((o) => [o.path, o]));
  const problems: OutProblem[] = [];
  const setChanged: string[] = [];
  for (const o of outs) {
    const rec = lockedOuts.get(o.spec.path);
    if (!rec) {
      setChanged.push(`out '${o.spec.path}' is new`);
      continue;
    }
    if (o.current && o.current.sha256 === rec.sha256) continue;
    const restorable = o.spec.cache && rec.cache !== false && o.objectPresent;
    problems.push({ reason: `out '${o.spec.path}' is ${o.current ? 'modified' : 'missing'}`, restorable });
  }
  const declared = new Set(outs.map((o) => o.spec.path));
  for (const p of lockedOuts.keys()) if (!declared.has(p)) setChanged.push(`out '${p}' was removed from the stage`);
  return { problems, setChanged };
}

/**
 * Stages whose results the run-cache may store and replay. As DVC's `_can_hash`: a persist out rules it
 * out (its content depends on earlier runs), an uncached one does not: the run-cache stores a copy of it
 * itself (DVC's `_uncached_outs`), so reverting an input restores an uncached metric like any other out.
 */
export function runCacheEligible(stage: Stage, fp: Fingerprint): boolean {
  return !stage.alwaysChanged && !fp.stampUnknown && !alwaysRunsForLackOfDeps(stage, fp) && stage.outs.length > 0 && stage.outs.every((o) => !o.persist);
}

/** DVC's "callback stage": nothing to compare, so it always runs. */
export function alwaysRunsForLackOfDeps(stage: Stage, fp: Fingerprint): boolean {
  return stage.deps.length === 0 && stage.params.length === 0 && !fp.hasStamp;
}

/** DVC's rules for one stage. */
export interface Decided {
  decision: Decision;
  reasons: string[];
  /** Only with 'run' for a state measured without a run-cache look-up: a run record, if there is one, would
   *  answer instead (repro looks one up then, so a stage that does not run never reads the run-cache). */
  runCacheMayAnswer?: true;
}

export function decide(state: StageState, opts: DecideOptions = {}): Decided {
  const { stage, fingerprint: fp, locked } = state;
  if (stage.frozen) {
    // Its recorded outs still stand: put back the ones the cache can (as checkout would), never run it.
    const { problems } = outProblems(state.outs, locked);
    const reasons = ['frozen', ...problems.map((p) => p.reason)];
    return { decision: problems.length > 0 && problems.every((p) => p.restorable) ? 'restore-outs' : 'frozen', reasons };
  }
  const reasons: string[] = [];
  let mustRun = false; // reasons the run-cache cannot answer
  if (opts.forced) {
    reasons.push('forced');
    mustRun = true;
  }
  if (stage.alwaysChanged) {
    reasons.push('always_changed');
    mustRun = true;
  }
  if (alwaysRunsForLackOfDeps(stage, fp)) {
    reasons.push('has no deps (always runs)');
    mustRun = true;
  }
  if (fp.stampUnknown) {
    reasons.push('external state unknown (stamp: null)');
    mustRun = true;
  }
  if (!locked) reasons.push('not in pipeline.lock yet');
  else reasons.push(...inputChanges(fp, locked, stage.interpolatedParams, state.describeVersion));
  const { problems, setChanged } = outProblems(state.outs, locked);
  if (locked) reasons.push(...setChanged);
  for (const up of opts.upstreamRunning ?? []) reasons.push(`upstream '${up}' will run`);
  const mayUseRunCache = !mustRun && (opts.runCache ?? true) && runCacheEligible(stage, fp) && fp.missingDeps.length === 0 && !opts.upstreamRunning?.length;
  const runOrRestore = (why: string[]): Decided =>
    mayUseRunCache && state.runCacheHit
      ? { decision: 'run-cache', reasons: why }
      : { decision: 'run', reasons: why, ...(mayUseRunCache ? { runCacheMayAnswer: true as const } : {}) };
  if (reasons.length > 0) {
    reasons.push(...problems.map((p) => p.reason));
    return runOrRestore(reasons);
  }
  if (problems.length === 0) return { decision: 'skip', reasons: [] };
  const why = problems.map((p) => p.reason);
  if (problems.every((p) => p.restorable)) return { decision: 'restore-outs', reasons: why };
  // An uncached out is missing or modified: the run-cache holds a copy of it when it recorded this run (DVC
  // tries its run-cache before running a changed stage, too).
  return runOrRestore(why);
}

/** The static view (`--dry`, `status`): every selected stage, assuming upstream runs change their outputs. */
export function plan(
  order: readonly string[],
  states: ReadonlyMap<string, StageState>,
  upstreamOf: (name: string) => readonly string[],
  opts: { forced?: ReadonlySet<string>; runCache?: boolean; unmeasurable?: ReadonlyMap<string, string> } = {},
): PlanItem[] {
  const willRun = new Set<string>();
  const items: PlanItem[] = [];
  for (const name of order) {
    const problem = opts.unmeasurable?.get(name);
    if (problem !== undefined) {
      // Its state could not be measured (a stamp hook failed, say): a repro would try to run it.
      willRun.add(name);
      items.push({ stage: name, decision: 'run', reasons: [`cannot check: ${problem}`] });
      continue;
    }
    const state = states.get(name);
    if (!state) continue;
    const upstreamRunning = upstreamOf(name).filter((u) => willRun.has(u));
    const { decision, reasons } = decide(state, {
      forced: opts.forced?.has(name) ?? false,
      runCache: opts.runCache ?? true,
      upstreamRunning,
    });
    if (decision === 'run') willRun.add(name);
    items.push({ stage: name, decision, reasons });
  }
  return items;
}
