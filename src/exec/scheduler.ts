// A worker pool over the DAG: a stage starts once everything it depends on has finished, with at most
// `jobs` stages at once. After a failure nothing new starts unless keepGoing; with keepGoing only the
// failed stage's downstream is held back. Every stage that never started is named, with the reason.

export interface ScheduleOptions {
  readonly jobs: number;
  readonly keepGoing: boolean;
  readonly signal?: AbortSignal;
  /**
   * A stage in a pool runs against the pool's own limit instead of `jobs` (a foreach on a remote executor
   * with `concurrency: 16` starts 16 sandboxes at once on a 2-core machine).
   */
  readonly poolOf?: (name: string) => { readonly key: string; readonly limit: number } | undefined;
}

export interface NotStarted {
  readonly stage: string;
  /** e.g. "upstream 'train' failed" or "stopped after 'train' failed". */
  readonly reason: string;
}

export interface ScheduleResult {
  readonly succeeded: readonly string[];
  readonly failed: readonly string[];
  readonly notStarted: readonly NotStarted[];
}

/**
 * Runs `names` (already in topological order). `depsOf` gives each stage's direct upstream among `names`.
 * `runOne` resolves true on success and false on failure (it reports its own errors); a throw counts as failure.
 */
export async function schedule(
  names: readonly string[],
  depsOf: (name: string) => readonly string[],
  runOne: (name: string) => Promise<boolean>,
  opts: ScheduleOptions,
): Promise<ScheduleResult> {
  const selected = new Set(names);
  const deps = new Map(names.map((n) => [n, depsOf(n).filter((d) => selected.has(d) && d !== n)]));
  const state = new Map<string, 'pending' | 'running' | 'ok' | 'failed' | 'blocked'>(names.map((n) => [n, 'pending']));
  const succeeded: string[] = [];
  const failed: string[] = [];
  const notStarted: NotStarted[] = [];
  const jobs = Math.max(1, Math.floor(opts.jobs));
  let running = 0;
  let local = 0;
  const inPool = new Map<string, number>();
  let stopReason: string | undefined;

  return new Promise<ScheduleResult>((resolve) => {
    const finishIfIdle = (): void => {
      if (running > 0) return;
      for (const n of names) {
        if (state.get(n) === 'pending') notStarted.push({ stage: n, reason: stopReason ?? 'interrupted' });
      }
      resolve({ succeeded, failed, notStarted });
    };

    const pump = (): void => {
      if (opts.signal?.aborted && !stopReason) stopReason = 'interrupted';
      // Hold back everything downstream of a failure (or of something held back), in order.
      for (const n of names) {
        if (state.get(n) !== 'pending') continue;
        const bad = deps.get(n)!.find((d) => state.get(d) === 'failed' || state.get(d) === 'blocked');
        if (bad) {
          state.set(n, 'blocked');
          notStarted.push({ stage: n, reason: state.get(bad) === 'failed' ? `upstream '${bad}' failed` : `upstream '${bad}' did not run` });
        }
      }
      if (!stopReason) {
        for (const n of names) {
          if (state.get(n) !== 'pending') continue;
          const pool = opts.poolOf?.(n);
          if (pool ? (inPool.get(pool.key) ?? 0) >= Math.max(1, pool.limit) : local >= jobs) continue;
          if (!deps.get(n)!.every((d) => state.get(d) === 'ok')) continue;
          state.set(n, 'running');
          running++;
          if (pool) inPool.set(pool.key, (inPool.get(pool.key) ?? 0) + 1);
          else local++;
          void runOne(n)
            .catch(() => false)
            .then((ok) => {
              running--;
              if (pool) inPool.set(pool.key, inPool.get(pool.key)! - 1);
              else local--;
              state.set(n, ok ? 'ok' : 'failed');
              (ok ? succeeded : failed).push(n);
              if (!ok && !opts.keepGoing && !stopReason) stopReason = `stopped after '${n}' failed`;
              pump();
            });
        }
      }
      finishIfIdle();
    };
    pump();
  });
}
