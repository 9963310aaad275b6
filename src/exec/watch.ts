// `rallycut repro --watch`: chokidar on every source dep (deps no stage produces), pipeline.yaml and params/.
// Changes are debounced, mapped to the stages that read them, and run as targets plus their downstream.
// Runs never overlap: changes during a run queue exactly one rerun. Abort (Ctrl-C) stops the running
// repro through the engine's signal (outs are committed atomically) and then closes the watcher.
import { join, relative } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { toDiagnostics } from '../diagnostics.js';
import { isInside, toPosix } from '../fsutil.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { loadPipeline } from '../pipeline/load.js';
import type { Pipeline } from '../pipeline/types.js';
import { PIPELINE_FILE } from '../project.js';
import { reproduce, type ReproIO, type ReproOptions, type ReproResult } from './reproduce.js';

export interface WatchHooks {
  /** A run is starting: `targets` empty means the whole pipeline. */
  onRunStart?(targets: readonly string[], changed: readonly string[]): void;
  onRunEnd?(result: ReproResult | undefined, error?: unknown): void;
  /** The watcher is set up (after the first run). */
  onReady?(): void;
  /** A change to a watched path was seen (before the debounce). */
  onChange?(path: string): void;
  /** The debounce ended while a run was going: one rerun follows it. */
  onRerunQueued?(): void;
  /** A debounced batch of changes touched no stage: nothing runs. */
  onNothingToRun?(changed: readonly string[]): void;
}

export interface WatchOptions extends ReproOptions {
  /** Quiet period after the last change before a run starts (ms). */
  readonly debounceMs?: number;
}

const PARAMS_DIR = 'params';

const covers = (path: string, changed: string): boolean => changed === path || changed.startsWith(path.endsWith('/') ? path : `${path}/`);

/** Deps no stage produces: the files a person edits. */
export function sourceDeps(pipeline: Pipeline): string[] {
  const outs = [...pipeline.stages.values()].flatMap((s) => s.outs.map((o) => o.path));
  const deps = [...pipeline.stages.values()].flatMap((s) => s.deps);
  return [...new Set(deps.filter((d) => !outs.some((o) => covers(o, d) || covers(d, o))))].sort();
}

/** Stages to run for a set of changed paths; undefined means "everything" (pipeline or params changed). */
export function affectedStages(pipeline: Pipeline, changed: readonly string[]): string[] | undefined {
  if (changed.some((c) => c === PIPELINE_FILE || covers(PARAMS_DIR, c))) return undefined;
  return [...pipeline.stages.values()].filter((s) => s.deps.some((d) => changed.some((c) => covers(d, c)))).map((s) => s.name);
}

export async function watchPipeline(root: string, registry: HandlerRegistry, opts: WatchOptions, io: ReproIO, hooks: WatchHooks = {}): Promise<void> {
  const debounceMs = opts.debounceMs ?? 150;
  let pipeline: Pipeline | undefined;
  let watcher: FSWatcher | undefined;
  let watched = new Set<string>();
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let rerunQueued = false;

  const refresh = async (): Promise<void> => {
    try {
      pipeline = await loadPipeline(root, registry, { paramOverrides: opts.paramOverrides ?? [] });
    } catch (err) {
      io.err(
        `[watch] pipeline.yaml does not load: ${toDiagnostics(err)
          .map((d) => d.message)
          .join('; ')}; waiting for a fix\n`,
      );
      pipeline = undefined;
    }
    const next = new Set([PIPELINE_FILE, PARAMS_DIR, ...(pipeline ? sourceDeps(pipeline) : [])]);
    if (!watcher) return void (watched = next);
    watcher.unwatch([...watched].filter((p) => !next.has(p)).map((p) => join(root, p)));
    watcher.add([...next].filter((p) => !watched.has(p)).map((p) => join(root, p)));
    watched = next;
  };

  const runOnce = async (changed: string[]): Promise<void> => {
    if (changed.includes(PIPELINE_FILE)) await refresh();
    if (!pipeline) return;
    const targets = changed.length ? affectedStages(pipeline, changed) : undefined;
    if (targets && !targets.length) return void hooks.onNothingToRun?.(changed);
    hooks.onRunStart?.(targets ?? [], changed);
    io.err(`[watch] ${changed.length ? `changed: ${changed.join(', ')}; ` : ''}running ${targets ? targets.join(', ') + ' and downstream' : 'the pipeline'}\n`);
    try {
      const result = await reproduce(root, registry, { ...opts, ...(targets ? { targets, downstream: true } : {}) }, io);
      const count = (o: string): number => result.stages.filter((s) => s.outcome === o).length;
      io.err(
        `[watch] ${result.ok ? 'done' : 'failed'}: ran ${count('ran')}, restored ${count('restored') + count('run-cache')}, failed ${count('failed')}; watching for changes\n`,
      );
      hooks.onRunEnd?.(result);
    } catch (err) {
      io.err(
        `[watch] failed: ${toDiagnostics(err)
          .map((d) => d.message)
          .join('; ')}; watching for changes\n`,
      );
      hooks.onRunEnd?.(undefined, err);
    }
  };

  // `initial`: the first run, of the whole pipeline. Later runs need changes: a debounce timer that fires
  // after a rerun already took its changes starts nothing.
  const start = (initial = false): void => {
    if (running) {
      rerunQueued = true; // exactly one rerun, however many changes arrive meanwhile
      hooks.onRerunQueued?.();
      return;
    }
    if (!initial && !pending.size) return;
    clearTimeout(timer);
    const changed = [...pending].sort();
    pending.clear();
    running = runOnce(changed).finally(() => {
      running = undefined;
      if (rerunQueued && !io.signal.aborted) {
        rerunQueued = false;
        start();
      }
    });
  };

  const onEvent = (abs: string): void => {
    const rel = toPosix(relative(root, abs));
    if (!isInside(root, abs) || rel.startsWith('.rallycut-tmp-') || rel.includes('/.rallycut-tmp-')) return;
    pending.add(rel);
    hooks.onChange?.(rel);
    clearTimeout(timer);
    timer = setTimeout(() => start(), debounceMs);
  };

  await refresh();
  start(true);
  await running;
  if (io.signal.aborted) return;
  // Loaded here, not at the top: only --watch needs chokidar, and every CLI start would pay for it.
  const { watch } = await import('chokidar');
  watcher = watch(
    [...watched].map((p) => join(root, p)),
    { ignoreInitial: true, atomic: false },
  );
  watcher.on('all', (_event, path) => onEvent(path));
  await new Promise<void>((resolve) => watcher!.once('ready', () => resolve()));
  hooks.onReady?.();
  io.err(`[watch] watching ${watched.size} path(s); Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearTimeout(timer);
  await watcher.close();
  // The running repro sees the same signal: wait for it to stop its stages and clean up.
  while (running) await running;
  io.err('[watch] stopped\n');
}
