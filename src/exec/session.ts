// The state one `repro`/`status` works with (pipeline, graph, lock, hasher, caches) and how a single
// stage is measured against it: handler context, fingerprint, out states, run-cache lookup.
import { isAbsolute, join } from 'node:path';
import { RunCache, type RunRecord } from '../cache/runcache.js';
import { failure } from '../diagnostics.js';
import { measureFingerprint, runCacheKey, type Fingerprint } from '../fingerprint.js';
import type { HandlerRegistry, RegisteredHandler, StageContext } from '../handler-contract.js';
import type { LockEntry, LockFile } from '../lock/types.js';
import type { ParamValues, Pipeline, Stage } from '../pipeline/types.js';
import { redactorFor, type Redactor } from '../redact.js';
import { stableJson } from '../format/printer.js';
import { createProgress } from '../format/progress.js';
import type { Board } from '../format/board.js';
import { decide, type OutState, type StageState } from '../graph/plan.js';
import { allObjectsPresent, hashList, type ObjectStore, type PathHasher } from './outs.js';

/** The DAG queries the engine uses (src/graph/build.ts PipelineGraph satisfies it). */
export interface EngineGraph {
  order(): readonly string[];
  upstream(names: readonly string[]): Iterable<string>;
  downstream(names: readonly string[]): Iterable<string>;
  depsOf(name: string): Iterable<string>;
  resolveTargets?(targets: readonly string[]): string[];
}

export interface SessionIO {
  env: NodeJS.ProcessEnv;
  /** Logs and progress (stderr in the CLI). */
  err(text: string): void;
  signal: AbortSignal;
  /** In a terminal: the live board; each running stage has a line and its progress bars draw in it. */
  board?: Board | undefined;
}

export interface Session {
  readonly root: string;
  readonly cacheDir: string;
  readonly pipeline: Pipeline;
  readonly graph: EngineGraph;
  readonly registry: HandlerRegistry;
  readonly hasher: PathHasher & { save(): Promise<unknown> };
  readonly objects: ObjectStore;
  readonly runCache: RunCache;
  readonly loadParams: (stage: Stage) => Promise<ParamValues>;
  lock: LockFile;
  readonly jobs: number;
  readonly io: SessionIO;
  /** Tool versions per handler name, asked once per session (a foreach of 50 items spawns `ffmpeg -version` once). */
  readonly versionCache: Map<string, Promise<Record<string, string> | undefined>>;
}

export interface MeasuredStage {
  readonly state: StageState;
  readonly ctx: StageContext;
  readonly handler?: RegisteredHandler | undefined;
  /** Lines the stage logged during this attempt (for the run-cache). */
  readonly captured: string[];
  readonly key: string;
  /** Set when the run-cache holds a usable record for this fingerprint. */
  readonly runRecord?: RunRecord | undefined;
  readonly locked?: LockEntry | undefined;
}

function abs(root: string, rel: string): string {
  return isAbsolute(rel) ? rel : join(root, rel);
}

export function stageContext(session: Session, stage: Stage, params: ParamValues, captured: string[]): StageContext {
  const { root, io } = session;
  let redact: Redactor | undefined; // built on the first line: most measured stages never log
  return {
    root,
    cacheDir: session.cacheDir,
    stage: stage.name,
    wdir: abs(root, stage.wdir),
    deps: stage.deps.map((d) => abs(root, d)),
    outs: stage.outs.map((o) => abs(root, o.path)),
    params,
    env: io.env,
    jobs: session.jobs,
    signal: io.signal,
    log(message: string) {
      redact ??= redactorFor(io.env);
      // Masked before it is shown or captured: captured lines are stored in run-cache records and pushed.
      for (const line of redact(String(message)).split('\n')) {
        captured.push(line);
        io.err(`[${stage.name}] ${line}\n`);
      }
    },
    progress: (label, total, unit) =>
      io.board
        ? io.board.bar(stage.name, label, total, unit ?? '')
        : createProgress(`[${stage.name}] ${label}`, total, unit, { write: (t) => io.err(t), isTTY: false, env: io.env }),
  };
}

/** Everything decide() needs for one stage, measured now (stat-cached: unchanged files are not read). */
export async function measureStage(session: Session, stage: Stage, opts: { runCache: boolean }): Promise<MeasuredStage> {
  const captured: string[] = [];
  const handler = stage.action.kind === 'handler' ? await session.registry.get(stage.action.handler) : undefined;
  if (stage.action.kind === 'handler' && !handler) {
    throw failure(`unknown handler '${stage.action.handler}'`, { subject: stage.name, notes: [`known: ${(await session.registry.names()).join(', ')}`] });
  }
  const params = await session.loadParams(stage);
  const ctx = stageContext(session, stage, params, captured);
  const handlerParams = stage.action.kind === 'handler' ? stage.action.with : undefined;
  const fingerprint: Fingerprint = await measureFingerprint(stage, {
    hashPaths: (rels) => hashList(session.hasher, rels),
    params,
    handler,
    handlerParams,
    ctx,
    versions: handler?.versions ? () => memoVersions(session, handler, ctx) : undefined,
  });
  const locked = session.lock.stages[stage.name];
  const outs = await measureOuts(session, stage, locked);
  const key = runCacheKey(fingerprint.entry);
  const state: StageState = { stage, fingerprint, locked, outs, runCacheHit: false, describeVersion: handler?.describeVersion?.bind(handler) };
  const measured: MeasuredStage = { state, ctx, handler, captured, key, locked };
  return opts.runCache ? withRunCache(session, measured) : measured;
}

/**
 * For a stage whose fingerprint holds tool versions or an external stamp: re-asks those hooks, and says
 * whether they still give what was measured. The project daemon calls it before each answer, since neither
 * a new ffmpeg nor a new label in the database changes a file it watches.
 */
export function externalCheck(m: MeasuredStage): (() => Promise<boolean>) | undefined {
  const { handler, ctx } = m;
  const { entry, hasStamp } = m.state.fingerprint;
  if (!handler || (!hasStamp && !entry.versions)) return undefined;
  const handlerParams = m.state.stage.action.kind === 'handler' ? m.state.stage.action.with : undefined;
  const recorded = stableJson(entry.versions ?? {});
  return async () => {
    const versions = handler.versions ? await handler.versions(ctx) : undefined;
    if (stableJson(versions ?? {}) !== recorded) return false;
    if (!hasStamp || !handler.stamp) return true;
    const stamp = await handler.stamp(ctx, handlerParams);
    return typeof stamp === 'string' && stamp === entry.stamp;
  };
}

function memoVersions(session: Session, handler: RegisteredHandler, ctx: StageContext): Promise<Record<string, string> | undefined> {
  let p = session.versionCache.get(handler.name);
  if (!p) {
    p = handler.versions!(ctx);
    session.versionCache.set(handler.name, p);
  }
  return p;
}

/** Looks in the run-cache, but only for a stage that would otherwise run (keeps the no-op path cheap). */
async function withRunCache(session: Session, m: MeasuredStage): Promise<MeasuredStage> {
  if (!decide(m.state).runCacheMayAnswer) return m;
  const runRecord = await findRunRecord(session, m);
  return runRecord ? { ...m, runRecord, state: { ...m.state, runCacheHit: true } } : m;
}

/** The run-cache's record for the measured fingerprint, when every object it names is present. */
export async function findRunRecord(session: Session, m: MeasuredStage): Promise<RunRecord | undefined> {
  return usableRunRecord(session, m.state.stage, m.key);
}

async function measureOuts(session: Session, stage: Stage, locked: LockEntry | undefined): Promise<OutState[]> {
  const current = await hashList(
    session.hasher,
    stage.outs.map((o) => o.path),
  );
  const recorded = new Map((locked?.outs ?? []).map((o) => [o.path, o]));
  const states: OutState[] = [];
  for (const [i, spec] of stage.outs.entries()) {
    const now = current[i] ?? null;
    const rec = recorded.get(spec.path);
    // Only look into the object store when the out differs from the record (keeps the no-op path cheap).
    const objectPresent = rec !== undefined && rec.cache !== false && now?.sha256 !== rec.sha256 ? await session.objects.has(rec.sha256) : false;
    states.push({ spec, current: now ? { sha256: now.sha256 } : null, objectPresent });
  }
  return states;
}

async function usableRunRecord(session: Session, stage: Stage, key: string): Promise<RunRecord | undefined> {
  const record = await session.runCache.get(key);
  if (!record) return undefined;
  const declared = stage.outs.map((o) => o.path).sort();
  const stored = record.outs.map((o) => o.path).sort();
  if (declared.join('\n') !== stored.join('\n')) return undefined;
  return (await allObjectsPresent(record.outs, session.objects)) ? record : undefined;
}

export function newRunCache(cacheDir: string): RunCache {
  return new RunCache(cacheDir);
}
