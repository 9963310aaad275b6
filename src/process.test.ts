import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processAlive } from './process.js';

describe('processAlive', () => {
  it('is true for a running process and false once it exited, also while it waits to be reaped (a zombie)', async () => {
    expect(processAlive(process.pid)).toBe(true);
    // An orphan: its shell exits at once, so it is init's to reap, which may take seconds.
    const pid = Number(execFileSync('/bin/sh', ['-c', 'sleep 0.2 >/dev/null 2>&1 & echo $!']).toString());
    expect(processAlive(pid)).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    let state = 'gone';
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.slice(0, 1);
    } catch {
      // reaped already
    }
    expect(processAlive(pid), `state ${state}`).toBe(false);
  });
});
