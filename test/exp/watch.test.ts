// `repro --watch` (src/exec/watch.ts) on a small cmd-stage project: a dep edit reruns its stage and what
// follows, an unrelated edit runs nothing, edits during a run queue exactly one rerun, abort stops cleanly.
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handlerRegistry } from '../../stages/index.js';
import { watchPipeline, type WatchHooks } from '../../src/exec/watch.js';
import type { ReproResult } from '../../src/exec/reproduce.js';
import { Rig } from '../rig.js';

const cmd = Rig.stageCmd;

const PIPELINE = `stages:
  a:
    cmd: '${cmd('a', 'sleep "$(cat delay.txt)" && cp in.txt a.txt')}'
    deps: [in.txt, delay.txt]
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Session {
  stop(): Promise<void>;
  runs: { targets: readonly string[]; result?: ReproResult }[];
  idle(): Promise<void>;
}

let rig: Rig;
beforeEach(async () => {
  rig = new Rig('rallycut-watch-');
  await rig.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'x\n', 'other.txt': 'o\n', 'delay.txt': '0\n', 'unrelated.txt': 'u\n' });
});
afterEach(async () => rig.cleanup());

async function startWatch(): Promise<Session> {
  const controller = new AbortController();
  const runs: Session['runs'] = [];
  let active = 0;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const hooks: WatchHooks = {
    onRunStart: (targets) => void (active++, runs.push({ targets })),
    onRunEnd: (result) => {
      active--;
      if (result) runs[runs.length - 1]!.result = result;
    },
    onReady: () => ready(),
  };
  const done = watchPipeline(rig.dir, handlerRegistry, { debounceMs: 100, jobs: 2 }, { env: rig.env(), err: (t) => void (process.env.WATCH_DEBUG && process.stderr.write(t)), signal: controller.signal }, hooks);
  await isReady;
  return {
    runs,
    stop: async () => {
      controller.abort();
      await done;
    },
    // Waits until no run is active and none starts for a while (debounce + margin).
    idle: async () => {
      for (let quiet = 0; quiet < 6; ) {
        await sleep(100);
        quiet = active ? 0 : quiet + 1;
      }
    },
  };
}

describe('repro --watch', () => {
  it('reruns the stage whose dep changed (and downstream), not after an unrelated edit', async () => {
    const w = await startWatch();
    try {
      expect((await rig.invocations()).sort()).toEqual(['a', 'b', 'c']); // the initial run
      await rig.write({ 'unrelated.txt': 'changed\n' });
      await sleep(600);
      await w.idle();
      expect(await rig.invocations()).toEqual([]);
      expect(w.runs).toHaveLength(1);

      await rig.write({ 'in.txt': 'y\n' });
      await sleep(200);
      await w.idle();
      expect(await rig.invocations()).toEqual(['a', 'b']);
      expect(rig.read('b.txt')).toBe('Y\n');
      expect(w.runs[1]!.targets).toEqual(['a']);
    } finally {
      await w.stop();
    }
  }, 30_000);

  it('an edit to pipeline.yaml reruns the changed stage and starts watching its new deps', async () => {
    const w = await startWatch();
    try {
      await rig.invocations();
      await rig.write({ 'pipeline.yaml': PIPELINE.replace("cp other.txt c.txt", "cat other.txt extra.txt > c.txt").replace('deps: [other.txt]', 'deps: [other.txt, extra.txt]'), 'extra.txt': 'e\n' });
      await sleep(200);
      await w.idle();
      const first = await rig.invocations();
      expect(first).toContain('c');
      expect(first).not.toContain('b');
      await rig.write({ 'extra.txt': 'f\n' });
      await sleep(200);
      await w.idle();
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
      await rig.write({ 'delay.txt': '1\n' });
      // Wait for the slow run to start, then edit three times while it runs.
      while (w.runs.length < 2) await sleep(20);
      for (const v of ['p', 'q', 'r']) {
        await rig.write({ 'in.txt': `${v}\n` });
        await sleep(150);
      }
      await w.idle();
      expect(w.runs).toHaveLength(3);
      // The rerun runs a again (its dep changed after the first run read it); b reruns only if a.txt changed.
      expect((await rig.invocations()).filter((n) => n === 'a')).toEqual(['a', 'a']);
      expect(rig.read('b.txt')).toBe('R\n');
    } finally {
      await w.stop();
    }
  }, 30_000);

  it('abort during a run stops cleanly: no half-written outs, no temp files', async () => {
    const w = await startWatch();
    await rig.invocations();
    await rig.write({ 'delay.txt': '3\n', 'in.txt': 'new\n' });
    while (w.runs.length < 2) await sleep(20);
    await sleep(300);
    await w.stop();
    expect(w.runs[1]!.result?.ok).toBe(false);
    // The engine clears an out before its stage runs: interrupted, it is absent, never half-written.
    expect(rig.exists('a.txt') ? rig.read('a.txt') : 'absent').toMatch(/^(x\n|absent)$/);
    expect(rig.read('pipeline.lock')).not.toContain('new');
    expect(readdirSync(rig.dir).filter((f) => f.includes('rallycut-tmp'))).toEqual([]);
  }, 30_000);
});
