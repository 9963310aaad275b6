// `repro --watch` (src/exec/watch.ts) on a small cmd-stage project: a dep edit reruns its stage and what
// follows, an unrelated edit runs nothing, edits during a run queue exactly one rerun, abort stops cleanly.
// No fixed sleeps: every wait is for a hook of the watcher (a change seen, a rerun queued, a run ended) or a
// file a stage writes. Stage a blocks while the file `hold` exists, so a test decides when a run ends.
import { existsSync, readdirSync, watch as fsWatch } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handlerRegistry } from '../../stages/index.js';
import { watchPipeline, type WatchHooks } from '../../src/exec/watch.js';
import type { ReproResult } from '../../src/exec/reproduce.js';
import { Rig } from '../rig.js';

const cmd = Rig.stageCmd;

const PIPELINE = `stages:
  a:
    cmd: '${cmd('a', 'touch a.started && while [ -e hold ]; do sleep 0.02; done && cp in.txt a.txt')}'
    deps: [in.txt, trigger.txt]
    outs: [a.txt]
  b:
    cmd: '${cmd('b', 'tr a-z A-Z < a.txt > b.txt')}'
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: '${cmd('c', 'cp other.txt c.txt')}'
    deps: [other.txt]
    outs: [c.txt]
`;

interface Run {
  /** Date.now() when it started. */
  at: number;
  targets: readonly string[];
  changed: readonly string[];
  ended: boolean;
  result?: ReproResult;
}

interface Session {
  runs: Run[];
  /** Everything the watcher reported, in order: 'change:PATH', 'queued', 'start', 'end', 'nothing:PATHS'. */
  log: string[];
  /** Date.now() of each log entry. */
  times: number[];
  /** Resolves when `cond` holds, re-checked after every hook call. */
  until(cond: () => boolean): Promise<void>;
  /** Resolves when a run whose changes include `path` has ended; returns it. */
  ranFor(path: string): Promise<Run>;
  stop(): Promise<void>;
}

let rig: Rig;
beforeEach(async () => {
  rig = new Rig('rallycut-watch-');
  await rig.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'x\n', 'other.txt': 'o\n', 'trigger.txt': '0\n', 'unrelated.txt': 'u\n' });
});
afterEach(async () => rig.cleanup());

async function startWatch(debounceMs = 100): Promise<Session> {
  const controller = new AbortController();
  const runs: Run[] = [];
  const log: string[] = [];
  const times: number[] = [];
  const waiters = new Set<() => void>();
  const note = (entry: string): void => {
    log.push(entry);
    times.push(Date.now());
    if (process.env.WATCH_DEBUG) process.stderr.write(`[hook] ${entry}\n`);
    for (const w of [...waiters]) w();
  };
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const hooks: WatchHooks = {
    onRunStart: (targets, changed) => {
      runs.push({ at: Date.now(), targets, changed, ended: false });
      note('start');
    },
    onRunEnd: (result) => {
      const run = runs[runs.length - 1]!;
      run.ended = true;
      if (result) run.result = result;
      note('end');
    },
    onChange: (path) => note(`change:${path}`),
    onRerunQueued: () => note('queued'),
    onNothingToRun: (changed) => note(`nothing:${changed.join(',')}`),
    onReady: () => ready(),
  };
  const done = watchPipeline(
    rig.dir,
    handlerRegistry,
    { debounceMs, jobs: 2 },
    { env: rig.env(), err: (t) => void (process.env.WATCH_DEBUG && process.stderr.write(t)), signal: controller.signal },
    hooks,
  );
  await isReady;
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!cond()) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  return {
    runs,
    log,
    times,
    until,
    async ranFor(path) {
      let found: Run | undefined;
      await until(() => (found = runs.find((r) => r.ended && r.changed.includes(path))) !== undefined);
      return found!;
    },
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/** Resolves once `name` exists in the rig's folder (fs.watch on the folder, no polling). */
async function fileAppears(name: string): Promise<void> {
  const watcher = fsWatch(rig.dir);
  try {
    await new Promise<void>((resolve) => {
      watcher.on('change', () => existsSync(join(rig.dir, name)) && resolve());
      if (existsSync(join(rig.dir, name))) resolve();
    });
  } finally {
    watcher.close();
  }
}

/** Writes `files` and waits until the watcher reported a change of `path` after the write. */
async function edit(w: Session, files: Record<string, string>, path: string): Promise<void> {
  const before = w.log.length;
  await rig.write(files);
  await w.until(() => w.log.slice(before).includes(`change:${path}`));
}

describe('repro --watch', () => {
  it('reruns the stage whose dep changed (and downstream), not after an unrelated edit', async () => {
    const w = await startWatch();
    try {
      expect((await rig.invocations()).sort()).toEqual(['a', 'b', 'c']); // the initial run
      // The unrelated edit comes first; the edit of other.txt after it is the barrier: had the watcher seen
      // (and wrongly mapped) unrelated.txt, its change would be in this batch or in a run before it.
      await rig.write({ 'unrelated.txt': 'changed\n' });
      await rig.write({ 'other.txt': 'p\n' });
      const run = await w.ranFor('other.txt');
      expect(run.changed).toEqual(['other.txt']);
      expect(run.targets).toEqual(['c']);
      expect(w.runs).toHaveLength(2);
      expect(w.log.filter((e) => e.startsWith('change:'))).not.toContain('change:unrelated.txt');
      expect(await rig.invocations()).toEqual(['c']);

      await rig.write({ 'in.txt': 'y\n' });
      const second = await w.ranFor('in.txt');
      expect(second.targets).toEqual(['a']);
      expect(w.runs).toHaveLength(3);
      expect(await rig.invocations()).toEqual(['a', 'b']);
      expect(rig.read('b.txt')).toBe('Y\n');
    } finally {
      await w.stop();
    }
  }, 30_000);

  it('an edit to pipeline.yaml reruns the changed stage and starts watching its new deps', async () => {
    const w = await startWatch();
    try {
      await rig.invocations();
      await rig.write({
        'pipeline.yaml': PIPELINE.replace('cp other.txt c.txt', 'cat other.txt extra.txt > c.txt').replace('deps: [other.txt]', 'deps: [other.txt, extra.txt]'),
        'extra.txt': 'e\n',
      });
      await w.ranFor('pipeline.yaml');
      const first = await rig.invocations();
      expect(first).toContain('c');
      expect(first).not.toContain('b');
      await rig.write({ 'extra.txt': 'f\n' });
      await w.ranFor('extra.txt');
      expect(await rig.invocations()).toEqual(['c']);
      expect(rig.read('c.txt')).toBe('o\nf\n');
    } finally {
      await w.stop();
    }
  }, 30_000);

  it('edits during a run queue exactly one rerun', async () => {
    const w = await startWatch();
    try {
      await rig.invocations();
      await rm(join(rig.dir, 'a.started'));
      await rig.write({ hold: '' });
      await edit(w, { 'trigger.txt': '1\n' }, 'trigger.txt');
      await fileAppears('a.started'); // run 2 is in stage a, held
      // Three saves in a row (chokidar reports the first; it drops changes to a path within 50 ms of the
      // last it reported, so waiting for each would wait forever).
      const before = w.log.length;
      for (const v of ['p', 'q', 'r']) await rig.write({ 'in.txt': `${v}\n` });
      await w.until(() => w.log.slice(before).includes('change:in.txt'));
      // The debounce ends while run 2 still holds: the rerun is queued.
      await w.until(() => w.log.lastIndexOf('queued') > w.log.lastIndexOf('change:in.txt'));
      await rm(join(rig.dir, 'hold'));
      await w.ranFor('in.txt');
      // A barrier: the next run is the one for other.txt, so no other rerun came between.
      await rig.write({ 'other.txt': 'p\n' });
      await w.ranFor('other.txt');
      expect(w.runs.map((r) => r.changed)).toEqual([[], ['trigger.txt'], ['in.txt'], ['other.txt']]);
      // The rerun runs a again (its dep changed after the first run read it).
      expect((await rig.invocations()).filter((n) => n === 'a')).toEqual(['a', 'a']);
      expect(rig.read('b.txt')).toBe('R\n');
    } finally {
      await w.stop();
    }
  }, 30_000);

  it('a run that ends before the debounce of a change made during it: that change runs once, after the debounce', async () => {
    // A long debounce, so run 2 ends before it: the change must start one run (when the debounce ends),
    // not one at the end of run 2 and then a second, empty, whole-pipeline run when the timer fires.
    const debounceMs = 4000;
    const w = await startWatch(debounceMs);
    try {
      await rig.invocations();
      await rm(join(rig.dir, 'a.started'));
      await rig.write({ hold: '' });
      await edit(w, { 'trigger.txt': '1\n' }, 'trigger.txt');
      await fileAppears('a.started');
      await edit(w, { 'in.txt': 'z\n' }, 'in.txt');
      const changedAt = w.times[w.log.lastIndexOf('change:in.txt')]!;
      await rm(join(rig.dir, 'hold'));
      await w.until(() => w.runs[1]!.ended);
      // The case under test needs run 2 to end inside the debounce (a very slow machine would miss it).
      expect(Date.now() - changedAt).toBeLessThan(debounceMs);
      const rerun = await w.ranFor('in.txt');
      // It waited for the debounce (timers fire at most a tick early), rather than starting when run 2 ended
      // and leaving the timer to start another, empty, whole-pipeline run.
      expect(rerun.at - changedAt).toBeGreaterThanOrEqual(debounceMs - 50);
      await rig.write({ 'other.txt': 'p\n' });
      await w.ranFor('other.txt');
      expect(w.runs.map((r) => r.changed)).toEqual([[], ['trigger.txt'], ['in.txt'], ['other.txt']]);
    } finally {
      await w.stop();
    }
  }, 30_000);

  it('abort during a run stops cleanly: no half-written outs, no temp files', async () => {
    const w = await startWatch();
    await rig.invocations();
    await rm(join(rig.dir, 'a.started'));
    await rig.write({ hold: '' });
    await edit(w, { 'trigger.txt': '3\n', 'in.txt': 'new\n' }, 'in.txt');
    await fileAppears('a.started'); // stage a is running (and held) when the watcher stops
    await w.stop();
    expect(w.runs[1]!.result?.ok).toBe(false);
    // The engine clears an out before its stage runs: interrupted, it is absent, never half-written.
    expect(rig.exists('a.txt') ? rig.read('a.txt') : 'absent').toMatch(/^(x\n|absent)$/);
    expect(rig.read('pipeline.lock')).not.toContain('new');
    expect(readdirSync(rig.dir).filter((f) => f.includes('rallycut-tmp'))).toEqual([]);
  }, 30_000);
});
