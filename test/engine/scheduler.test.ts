// The worker pool: parallelism bound, order, stop-on-failure and keep-going.
import { describe, expect, it } from 'vitest';
import { schedule } from '../../src/exec/scheduler.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('schedule', () => {
  // a → b; c → d; e independent
  const deps: Record<string, string[]> = { a: [], b: ['a'], c: [], d: ['c'], e: [] };
  const names = ['a', 'b', 'c', 'd', 'e'];

  it('never runs more than jobs at once and respects dependencies', async () => {
    let running = 0;
    let peak = 0;
    const finished: string[] = [];
    const res = await schedule(
      names,
      (n) => deps[n]!,
      async (n) => {
        for (const d of deps[n]!) expect(finished).toContain(d);
        running++;
        peak = Math.max(peak, running);
        await sleep(20);
        running--;
        finished.push(n);
        return true;
      },
      { jobs: 2, keepGoing: false },
    );
    expect(peak).toBe(2);
    expect([...res.succeeded].sort()).toEqual(names);
    expect(res.notStarted).toEqual([]);
  });

  it('stops starting new stages after a failure and names them', async () => {
    const started: string[] = [];
    const res = await schedule(
      names,
      (n) => deps[n]!,
      async (n) => {
        started.push(n);
        await sleep(5);
        return n !== 'a';
      },
      { jobs: 1, keepGoing: false },
    );
    expect(started).toEqual(['a']);
    expect(res.failed).toEqual(['a']);
    expect(res.notStarted.map((n) => n.stage).sort()).toEqual(['b', 'c', 'd', 'e']);
    expect(res.notStarted.find((n) => n.stage === 'b')!.reason).toBe("upstream 'a' failed");
    expect(res.notStarted.find((n) => n.stage === 'c')!.reason).toBe("stopped after 'a' failed");
  });

  it('with keepGoing runs the independent branches and holds back the failed one', async () => {
    const res = await schedule(
      names,
      (n) => deps[n]!,
      async (n) => n !== 'a',
      { jobs: 1, keepGoing: true },
    );
    expect([...res.succeeded].sort()).toEqual(['c', 'd', 'e']);
    expect(res.notStarted).toEqual([{ stage: 'b', reason: "upstream 'a' failed" }]);
  });

  it('a throwing stage counts as failed', async () => {
    const res = await schedule(
      ['a'],
      () => [],
      async () => {
        throw new Error('boom');
      },
      { jobs: 1, keepGoing: false },
    );
    expect(res.failed).toEqual(['a']);
  });
});
