// The engine's entry points, callable from code (CLI commands, experiments, watch mode):
// reproduce() runs a pipeline DVC-style; planStatus() gives the static "what would run and why".
import { availableParallelism } from 'node:os';
import { failure, RallycutError, toDiagnostics, type Diagnostic } from '../diagnostics.js';
import { dict } from '../dict.js';
import type { HandlerRegistry } from '../handler-contract.js';
import type { LockEntry } from '../lock/types.js';
import { updateLock } from '../lock/lock.js';
import { decide, plan, runCacheEligible, selectStages, type PlanItem, type StageState } from '../graph/plan.js';
import type { ParamOverride } from '../params/params.js';
import type { Stage } from '../pipeline/types.js';
import { stageGroup, type Executor, type StageRunRequest } from './executor.js';
import { estimateModal, type RemoteEstimate } from './modal/estimate.js';
import { executorFor, executors as builtInExecutors } from './executors.js';
import { checkoutOuts, clearOuts, collectOuts, storeUncachedOuts } from './outs.js';
import { checkPlacementStages, placeStage, type Placement } from './placement.js';
import { acquireProjectLock, waitingMessage } from './projectlock.js';
import { registerWorkspace } from '../cache/workspaces.js';
import { schedule, type NotStarted } from './scheduler.js';
import { externalCheck, findRunRecord, measureStage, type MeasuredStage, type Session, type SessionIO } from './session.js';
import { openSession } from './open.js';
import { redactorFor } from '../redact.js';
import { isWithin } from '../paths/policy.js';

export interface ReproOptions {
  readonly targets?: readonly string[];
  readonly force?: boolean;
  readonly single?: boolean;
  readonly downstream?: boolean;
  readonly dry?: boolean;
  readonly keepGoing?: boolean;
  /** Default: the core count. */
  readonly jobs?: number;
  /** Default true; false is --no-run-cache. */
  readonly runCache?: boolean;
  /** `-S [file:]key=value` overrides (experiments), applied to pipeline and params alike. */
  readonly paramOverrides?: readonly ParamOverride[];
  /** Executors by name, overriding the built-in ones (src/exec/executors.ts); tests use this for fakes. */
  readonly executors?: Readonly<Record<string, Executor>>;
  /** `--executor`: where stages run this time; never part of fingerprints or locks (placement.ts). */
  readonly placement?: Placement;
}

export type Outcome = 'ran' | 'skipped' | 'restored' | 'run-cache' | 'frozen' | 'failed';

export interface StageOutcome {
  readonly stage: string;
  readonly outcome: Outcome;
  readonly reasons: readonly string[];
  readonly seconds: number;
}

export interface ReproResult {
  readonly ok: boolean;
  /** Set for --dry: the static plan instead of outcomes. */
  readonly plan?: readonly PlanItem[];
  /** Set for --dry when stages would run on Modal: uploads and sandbox-hours at most, per GPU. */
  readonly remote?: readonly RemoteEstimate[];
  readonly stages: readonly StageOutcome[];
  readonly notStarted: readonly NotStarted[];
  readonly errors: readonly Diagnostic[];
}

export type ReproIO = SessionIO;

/** As DVC's force_state: -f forces every selected stage (the targets' upstream, or downstream with --downstream; -s only the targets). */
function forcedSet(selected: readonly string[], opts: ReproOptions): Set<string> {
  return opts.force ? new Set(selected) : new Set();
}

function upstreamWithin(session: Session, selected: ReadonlySet<string>) {
  return (name: string): string[] => [...session.graph.depsOf(name)].filter((d) => selected.has(d));
}

/** The static view over the selected stages (`--dry`, `status`). Reads, never writes (but the stat cache). */
export async function planStatus(root: string, registry: HandlerRegistry, opts: ReproOptions, io: ReproIO): Promise<PlanItem[]> {
  return (await measurePlan(root, registry, opts, io)).items;
}

export interface MeasuredPlan {
  readonly items: PlanItem[];
  /** What each selected stage was measured as (absent for a stage that could not be measured). */
  readonly states: ReadonlyMap<string, StageState>;
  /** Per stage with tool versions or a stamp: whether those still are as measured (see externalCheck). */
  readonly externalChecks: ReadonlyMap<string, () => Promise<boolean>>;
  /** The files the pipeline's resolution read besides pipeline.yaml (params and vars files). */
  readonly pipelineReads: readonly string[];
  /** With `estimate`: what the stages that would run on Modal would cost at most. */
  readonly remote?: readonly RemoteEstimate[];
}

/** planStatus() with the measured states behind it (the daemon judges from them what it may remember). */
export async function measurePlan(root: string, registry: HandlerRegistry, opts: ReproOptions, io: ReproIO, estimate = false): Promise<MeasuredPlan> {
  const session = await openSession(root, registry, jobsOf(opts), io, opts.paramOverrides ?? []);
  try {
    const selected = selectStages(session.graph, { targets: opts.targets ?? [], single: opts.single ?? false, downstream: opts.downstream ?? false });
    const states = new Map<string, StageState>();
    const externalChecks = new Map<string, () => Promise<boolean>>();
    const unmeasurable = new Map<string, string>();
    const measured = new Map<string, MeasuredStage>();
    for (const name of selected) {
      if (io.signal.aborted) throw failure('interrupted while checking the stages');
      try {
        const m = await measureStage(session, stageOf(session, name), { runCache: opts.runCache ?? true });
        states.set(name, m.state);
        measured.set(name, m);
        const check = externalCheck(m);
        if (check) externalChecks.set(name, check);
      } catch (err) {
        const diags = toDiagnostics(err);
        unmeasurable.set(name, diags.map((d) => [d.message, ...(d.notes ?? [])].join(' — ')).join('; '));
      }
    }
    const items = plan(selected, states, upstreamWithin(session, new Set(selected)), {
      forced: forcedSet(selected, opts),
      runCache: opts.runCache ?? true,
      unmeasurable,
    });
    const modal = estimate
      ? items.filter((i) => i.decision === 'run' && measured.get(i.stage)?.state.stage.executor.name === 'modal').map((i) => runRequest(measured.get(i.stage)!))
      : [];
    const remote = modal.length ? await estimateModal(modal) : undefined;
    return { items, states, externalChecks, pipelineReads: session.pipeline.reads ?? [], ...(remote ? { remote } : {}) };
  } finally {
    await session.hasher.save();
  }
}

function jobsOf(opts: ReproOptions): number {
  return Math.max(1, Math.floor(opts.jobs ?? availableParallelism()));
}

function stageOf(session: Session, name: string): Stage {
  const stage = session.pipeline.stages.get(name);
  if (!stage) throw failure(`unknown stage '${name}'`, { subject: name });
  return stage;
}

function runRequest(m: MeasuredStage, shared?: Map<string, unknown>): StageRunRequest {
  const stage = m.state.stage;
  return {
    stage,
    ctx: m.ctx,
    ...(shared ? { shared } : {}),
    ...(m.handler ? { handler: m.handler, handlerParams: stage.action.kind === 'handler' ? stage.action.with : undefined } : {}),
  };
}

export async function reproduce(root: string, registry: HandlerRegistry, opts: ReproOptions, io: ReproIO): Promise<ReproResult> {
  if (opts.dry) {
    const measured = await measurePlan(root, registry, opts, io, true);
    return { ...dryResult(measured.items), ...(measured.remote ? { remote: measured.remote } : {}) };
  }
  const lock = await acquireProjectLock(root, {
    signal: io.signal,
    onWait: (o) => io.err(waitingMessage(o)),
    onStale: (o) => io.err(`taking over a stale repro lock left by pid ${o.pid} (no longer running)\n`),
  });
  try {
    // Everything is read after the lock is held: the previous run may just have changed it.
    const session = await openSession(root, registry, jobsOf(opts), io, opts.paramOverrides ?? []);
    try {
      await registerWorkspace(session.cacheDir, root); // so gc from another workspace sharing the cache keeps our objects
      return await runSelected(session, opts);
    } finally {
      await session.objects.releasePins(); // the lock names what the run stored
      await session.hasher.save();
    }
  } finally {
    await lock.release();
  }
}

/** The result of `repro --dry`: the plan, nothing run. */
export function dryResult(items: readonly PlanItem[]): ReproResult {
  return { ok: true, plan: items, stages: [], notStarted: [], errors: [] };
}

/** The log line of a stage that did not run because nothing changed (or it is frozen). */
export function unchangedLine(name: string, decision: 'skip' | 'frozen'): string {
  return decision === 'frozen' ? `[${name}] frozen, not checked\n` : `[${name}] unchanged, skipped\n`;
}

/**
 * What a repro over an up-to-date plan returns: every stage skipped or frozen. Undefined when any item
 * would do something. The daemon answers a no-op `repro` with this, without taking the project lock.
 */
export function noopResult(items: readonly PlanItem[]): ReproResult | undefined {
  const stages: StageOutcome[] = [];
  for (const i of items) {
    if (i.decision !== 'skip' && i.decision !== 'frozen') return undefined;
    stages.push({ stage: i.stage, outcome: i.decision === 'skip' ? 'skipped' : 'frozen', reasons: i.reasons, seconds: 0 });
  }
  return { ok: true, stages, notStarted: [], errors: [] };
}

async function runSelected(session: Session, opts: ReproOptions): Promise<ReproResult> {
  const selected = selectStages(session.graph, { targets: opts.targets ?? [], single: opts.single ?? false, downstream: opts.downstream ?? false });
  const forced = forcedSet(selected, opts);
  const outcomes = new Map<string, StageOutcome>();
  const errors: Diagnostic[] = [];
  const executors: Readonly<Record<string, Executor>> = opts.executors ?? {};
  const shared = new Map<string, unknown>(); // executors' per-repro state (sandbox budgets)
  if (opts.placement) checkPlacementStages(opts.placement, session.pipeline.stages.keys());
  let lockWrites = Promise.resolve();
  const writeLock = (name: string, entry: LockEntry): Promise<void> => {
    // Parallel stages finish at any time: serialise lock writes, each rewriting only its own stage.
    const next = lockWrites.then(async () => {
      await updateLock(session.root, { [name]: entry });
      session.lock = { ...session.lock, stages: dict([...Object.entries(session.lock.stages), [name, entry]]) };
    });
    lockWrites = next.catch(() => undefined);
    return next;
  };

  const runOne = async (name: string): Promise<boolean> => {
    const started = Date.now();
    const stage = stageOf(session, name);
    const record = (outcome: Outcome, reasons: readonly string[]): void => {
      outcomes.set(name, { stage: name, outcome, reasons, seconds: (Date.now() - started) / 1000 });
    };
    // Runs the stage (a line of its own on the terminal's board while it runs), locks and records it.
    const run = async (m: MeasuredStage, reasons: readonly string[]): Promise<boolean> => {
      session.io.board?.begin(name, name);
      const entry = await execute(session, m, executors, shared, opts.placement);
      await writeLock(name, entry);
      await saveRunRecord(session, m, entry);
      record('ran', reasons);
      session.io.board?.end(name, 'ok', `${name} ran`);
      return true;
    };
    try {
      // Measured without the run-cache; decided once; the run-cache is read only for a stage that would run.
      const m = await measureStage(session, stage, { runCache: false });
      const { decision: first, reasons, runCacheMayAnswer } = decide(m.state, { forced: forced.has(name), runCache: opts.runCache ?? true });
      const runRecord = first === 'run' && runCacheMayAnswer ? await findRunRecord(session, m) : undefined;
      const decision = runRecord ? 'run-cache' : first;
      const why = reasons.length ? ` (${reasons.join('; ')})` : '';
      switch (decision) {
        case 'frozen':
        case 'skip':
          session.io.err(unchangedLine(name, decision));
          record(decision === 'skip' ? 'skipped' : 'frozen', reasons);
          return true;
        case 'restore-outs': {
          const bad = new Set(
            m.state.outs.filter((o) => o.current?.sha256 !== m.locked?.outs.find((l) => l.path === o.spec.path)?.sha256).map((o) => o.spec.path),
          );
          await checkoutOuts(
            session.root,
            (m.locked?.outs ?? []).filter((o) => bad.has(o.path)),
            session.objects,
          );
          session.io.err(`[${name}] restored from cache, not run${why}\n`);
          record('restored', reasons);
          return true;
        }
        case 'run-cache': {
          const rec = runRecord!;
          try {
            await checkoutOuts(session.root, rec.outs, session.objects);
          } catch (err) {
            // A damaged or half-collected cache is no reason to fail: run the stage instead.
            session.io.err(`[${name}] run-cache restore failed (${toDiagnostics(err)[0]?.message ?? 'unknown error'}), running instead\n`);
            return await run(m, reasons);
          }
          session.io.err(`[${name}] restored from run-cache, not run${why}\n`);
          for (const line of rec.log) session.io.err(`[${name}] ${line}\n`);
          await writeLock(name, { ...m.state.fingerprint.entry, outs: [...rec.outs] });
          record('run-cache', reasons);
          return true;
        }
        case 'run':
          session.io.err(`[${name}] running${why}\n`);
          return await run(m, reasons);
      }
    } catch (err) {
      const diags = toDiagnostics(err).map((d) => (d.subject ? d : { ...d, subject: name }));
      errors.push(...diags);
      session.io.board?.end(name, 'failed', `${name} failed`);
      session.io.err(redactorFor(session.io.env)(`[${name}] failed: ${diags.map((d) => d.message).join('; ')}`) + '\n');
      record('failed', []);
      return false;
    }
  };

  const sel = new Set(selected);
  const result = await schedule(selected, upstreamWithin(session, sel), runOne, {
    jobs: session.jobs,
    keepGoing: opts.keepGoing ?? false,
    signal: session.io.signal,
    poolOf: (name) => executorPool(stageOf(session, name)),
  });
  await lockWrites;
  const stages = selected.map((n) => outcomes.get(n)).filter((o): o is StageOutcome => o !== undefined);
  return { ok: result.failed.length === 0 && result.notStarted.length === 0, stages, notStarted: result.notStarted, errors };
}

async function execute(
  session: Session,
  m: MeasuredStage,
  executors: Readonly<Record<string, Executor>>,
  shared: Map<string, unknown>,
  placement: Placement | undefined,
): Promise<LockEntry> {
  const { stage } = m.state;
  if (m.state.fingerprint.missingDeps.length) {
    throw failure(`missing dep${m.state.fingerprint.missingDeps.length > 1 ? 's' : ''} ${m.state.fingerprint.missingDeps.map((d) => `'${d}'`).join(', ')}`, {
      subject: stage.name,
      file: stage.source.file,
      start: stage.source.start,
      notes: missingDepNotes(session, stage.name, m.state.fingerprint.missingDeps),
    });
  }
  const lookup = (name: string): Executor | undefined => executors[name] ?? executorFor(name);
  // The lock entry below is the fingerprint's, which names the declared executor whatever runs the stage.
  const placed = placeStage(placement, stage, m.handler, lookup);
  if (placed.note) m.ctx.log(placed.note);
  const executor = lookup(placed.name);
  if (!executor) {
    throw failure(`executor '${placed.name}' is not available`, {
      subject: stage.name,
      notes: [
        `available: ${Object.keys({ ...builtInExecutors, ...executors })
          .sort()
          .join(', ')}`,
      ],
    });
  }
  await clearOuts(session.root, stage);
  await executor.run(runRequest(m, shared));
  const outs = await collectOuts(session.root, stage, session.hasher, session.objects);
  const entry: LockEntry = { ...m.state.fingerprint.entry, outs };
  // A stage may change the external state its stamp describes (push changes the remote listing): record
  // the stamp as it is after the run, or the next repro would see a change the stage made itself.
  if (m.handler?.stamp) {
    const after = await m.handler.stamp(m.ctx, stage.action.kind === 'handler' ? stage.action.with : undefined);
    if (typeof after === 'string') entry.stamp = after;
    else delete entry.stamp;
  }
  return entry;
}

/** Why each missing dep is missing: a frozen producer whose recorded out the cache lacks, or no producer. */
function missingDepNotes(session: Session, consumer: string, deps: readonly string[]): string[] {
  const frozenUpstream = [...session.graph.depsOf(consumer)].map((n) => session.pipeline.stages.get(n)).filter((s) => s?.frozen);
  return deps.map((dep) => {
    const stage = frozenUpstream.find((s) => s!.outs.some((o) => o.path === dep || isWithin(dep, o.path)));
    if (stage) return `'${dep}' is an out of frozen stage '${stage.name}', and the cache lacks its recorded copy (pull it, or unfreeze the stage)`;
    return `no stage produced '${dep}' and it is not in the workspace`;
  });
}

async function saveRunRecord(session: Session, m: MeasuredStage, entry: LockEntry): Promise<void> {
  const { stage, fingerprint } = m.state;
  if (!runCacheEligible(stage, fingerprint) || fingerprint.missingDeps.length) return;
  // The objects first: a record must never name an object the store lacks.
  if (!(await storeUncachedOuts(session.root, entry.outs, session.hasher, session.objects))) return;
  await session.runCache.save(m.key, { stage: stage.name, outs: entry.outs, log: m.captured, created: new Date().toISOString() });
}

/** A stage whose executor options set `concurrency` runs in its group's own pool, not against -j. */
function executorPool(stage: Stage): { key: string; limit: number } | undefined {
  const raw = stage.executor.options.concurrency;
  const limit = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : undefined;
  if (limit === undefined || !(limit >= 1)) return undefined; // an invalid value fails in the executor, naming it
  return { key: `${stage.executor.name}:${stageGroup(stage.name)}`, limit };
}

/** Turns a result into the error the CLI reports (exit 1), naming what failed and what never started. */
export function resultError(result: ReproResult): RallycutError | undefined {
  if (result.ok) return undefined;
  const notes = result.notStarted.map((n) => `not run: ${n.stage} (${n.reason})`);
  const list: Diagnostic[] = result.errors.length ? [...result.errors] : [{ kind: 'failure', message: 'repro was interrupted' }];
  const last = list[list.length - 1]!;
  list[list.length - 1] = { ...last, notes: [...(last.notes ?? []), ...notes] };
  return new RallycutError(list);
}
