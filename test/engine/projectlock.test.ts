// The per-project repro lock: waits for a live owner, takes over from a dead one.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireProjectLock, projectLockPath } from '../../src/exec/projectlock.js';

describe('project lock', () => {
  it('a second acquirer waits for the first and says who holds it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'rc-lock-'));
    const first = await acquireProjectLock(root);
    const waits: number[] = [];
    let acquired = false;
    const second = acquireProjectLock(root, { onWait: (o) => waits.push(o.pid), pollMs: 10 }).then((l) => {
      acquired = true;
      return l;
    });
    for (let i = 0; i < 500 && waits.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
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
});
