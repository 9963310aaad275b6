// The per-project repro lock: waits for a live owner, takes over from a dead one (also when its pid was
// reused), never judges a lock from another host.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireProjectLock, projectLockPath, waitingMessage } from '../../src/exec/projectlock.js';
import { processStartTime } from '../../src/process.js';

describe('project lock', () => {
  it('a second acquirer waits for the first and says who holds it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rc-lock-'));
    const first = await acquireProjectLock(root);
    const waits: number[] = [];
    let acquired = false;
    // Resolves after the second acquirer found the lock held three times (it checked, and waits on).
    let busy = 0;
    let checkedThrice!: () => void;
    const thrice = new Promise<void>((r) => (checkedThrice = r));
    const second = acquireProjectLock(root, { onWait: (o) => waits.push(o.pid), onBusy: () => ++busy === 3 && checkedThrice(), pollMs: 10 }).then((l) => {
      acquired = true;
      return l;
    });
    await thrice;
    expect(acquired).toBe(false);
    expect(waits).toEqual([process.pid]);
    await first.release();
    const l2 = await second;
    expect(acquired).toBe(true);
    await l2.release();
    expect(existsSync(projectLockPath(root))).toBe(false);
  });

  it('takes over a lock left by a process that is gone', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rc-lock-'));
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((r) => child.on('exit', () => r(child.pid!)));
    mkdirSync(join(root, '.cache'), { recursive: true });
    writeFileSync(projectLockPath(root), JSON.stringify({ pid: deadPid, started: 'then' }));
    const stale: number[] = [];
    const lock = await acquireProjectLock(root, { onStale: (o) => stale.push(o.pid), pollMs: 10 });
    expect(stale).toEqual([deadPid]);
    await lock.release();
  });

  it("many acquirers racing over a dead process's lock: never two holders at once, one takeover", async () => {
    const deadPid = await new Promise<number>((r) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => r(child.pid!));
    });
    for (let round = 0; round < 10; round++) {
      const root = mkdtempSync(join(tmpdir(), 'rc-lock-'));
      mkdirSync(join(root, '.cache'), { recursive: true });
      writeFileSync(projectLockPath(root), JSON.stringify({ pid: deadPid, started: 'then', host: hostname() }));
      let holders = 0;
      let most = 0;
      let takeovers = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const lock = await acquireProjectLock(root, { pollMs: 2, onStale: () => void takeovers++ });
          most = Math.max(most, ++holders);
          await new Promise((r) => setTimeout(r, 5));
          holders--;
          await lock.release();
        }),
      );
      expect({ round, most, takeovers }).toEqual({ round, most: 1, takeovers: 1 });
      expect(existsSync(projectLockPath(root))).toBe(false);
    }
  });
});

describe('project lock: takeovers that crashed', () => {
  it('passes over the token of a takeover whose process died, and a damaged one, and leaves none behind', async () => {
    const deadPid = await new Promise<number>((r) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => r(child.pid!));
    });
    const root = mkdtempSync(join(tmpdir(), 'rc-lock-'));
    mkdirSync(join(root, '.cache'), { recursive: true });
    const stale = JSON.stringify({ pid: deadPid, started: 'then', host: hostname() });
    writeFileSync(projectLockPath(root), stale);
    const token = (n: number): string => `${projectLockPath(root)}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}-${n}`;
    writeFileSync(token(0), stale); // its taker died before removing the lock
    writeFileSync(token(1), 'garbage');
    const lock = await acquireProjectLock(root, { pollMs: 10, signal: AbortSignal.timeout(5000) });
    expect(readdirSync(join(root, '.cache')).sort()).toEqual(['repro.lock']);
    await lock.release();
  });
});

describe('project lock: pid reuse and other hosts', () => {
  const lockFor = (root: string, owner: Record<string, unknown>): void => {
    mkdirSync(join(root, '.cache'), { recursive: true });
    writeFileSync(projectLockPath(root), JSON.stringify(owner));
  };

  /** Tries to take the lock until it found it held three times, then gives up; the wait messages printed meanwhile. */
  const waitMessagesFor = async (root: string): Promise<string[]> => {
    const controller = new AbortController();
    const waits: string[] = [];
    let busy = 0;
    const attempt = acquireProjectLock(root, {
      onWait: (o) => waits.push(waitingMessage(o)),
      onBusy: () => void (++busy === 3 && controller.abort()),
      pollMs: 10,
      signal: controller.signal,
    });
    await expect(attempt).rejects.toThrow(/interrupted while waiting/);
    expect(busy).toBe(3);
    return waits;
  };

  it.skipIf(processStartTime(process.pid) === undefined)('takes over a lock whose pid is alive but belongs to a newer process (pid reused)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rc-lock-'));
    // This very process stands in for "some other process that got the dead owner's pid".
    lockFor(root, { pid: process.pid, started: 'then', host: hostname(), pidStart: '1' });
    const stale: number[] = [];
    const lock = await acquireProjectLock(root, { onStale: (o) => stale.push(o.pid), pollMs: 10 });
    expect(stale).toEqual([process.pid]);
    await lock.release();
  });

  it('waits for a live owner whose recorded start time matches', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rc-lock-'));
    const pidStart = processStartTime(process.pid);
    lockFor(root, { pid: process.pid, started: 'now', host: hostname(), ...(pidStart ? { pidStart } : {}) });
    expect(await waitMessagesFor(root)).toEqual([`waiting for another rallycut process (pid ${process.pid}, started now) to finish…\n`]);
  });

  it('never takes over a lock from another host, and says how to clear it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rc-lock-'));
    lockFor(root, { pid: 999_999_999, started: 'then', host: 'some-other-host' });
    const waits = await waitMessagesFor(root);
    expect(waits[0]).toContain('pid 999999999 on host some-other-host');
    expect(waits[0]).toContain('delete .cache/repro.lock');
    expect(existsSync(projectLockPath(root))).toBe(true);
  });
});
