// Two daemons starting over the pid file a killed daemon left: exactly one may win. The losing starter is held
// (a pause point, src/crash.ts) right after it judged the pid file stale, while the other takes the folder
// over and becomes ready; then it goes on. Before the pid file was a lock file (src/lockfile.ts), it then
// removed the winner's pid file, and the next `daemon start` started a second daemon for the project.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonPid, mailboxDir } from '../../src/daemon/mailbox.js';
import type { DaemonStatus } from '../../src/daemon/protocol.js';
import { daemonsIn } from '../kit/daemons.js';
import { distIsFresh, Rig } from '../rig.js';

const BUNDLED = existsSync(join(import.meta.dirname, '..', '..', 'dist', 'cli', 'daemon-client.cjs'));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Resolves once `file` exists, on the folder's change events. */
function appears(file: string): Promise<void> {
  const dir = join(file, '..');
  return new Promise((resolve) => {
    const watcher = watch(dir, () => {
      if (existsSync(file)) {
        watcher.close();
        resolve();
      }
    });
    if (existsSync(file)) {
      watcher.close();
      resolve();
    }
  });
}

describe.skipIf(!BUNDLED || !distIsFresh())('daemon pid-file takeover', () => {
  it('two starters racing over a stale pid file leave exactly one daemon', async () => {
    const rig = new Rig('rallycut-daemon-race-');
    const pauses = mkdtempSync(join(tmpdir(), 'rallycut-pauses-'));
    cleanups.push(async () => {
      await rig.spawn(['daemon', 'stop']);
      await rig.cleanup();
      rmSync(pauses, { recursive: true, force: true });
    });
    await rig.write({ 'pipeline.yaml': `stages:\n  a:\n    cmd: ${JSON.stringify(Rig.stageCmd('a', 'echo a > a.txt'))}\n    outs: [a.txt]\n` });
    const box = mailboxDir(rig.dir, rig.env());
    mkdirSync(box, { recursive: true, mode: 0o700 });
    const dead = spawnSync('true').pid!; // has exited: what a killed daemon leaves behind
    writeFileSync(join(box, 'pid'), String(dead));
    expect(daemonPid(box)).toBeUndefined();

    const held = rig.spawn(['daemon', 'run'], { RALLYCUT_PAUSE_AT: 'lockfile.stale', RALLYCUT_PAUSE_DIR: pauses });
    await appears(join(pauses, 'lockfile.stale.paused')); // it has read the stale pid file and judged it
    const started = await rig.spawn(['daemon', 'start', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const winner = (JSON.parse(started.stdout) as DaemonStatus).pid;

    writeFileSync(join(pauses, 'lockfile.stale.resume'), '');
    const loser = await held;
    expect(loser.code).not.toBe(0);
    // The winner keeps its pid file: the next start finds it instead of starting a second daemon.
    expect(daemonPid(box)).toBe(winner);
    const again = await rig.spawn(['daemon', 'start', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as DaemonStatus).pid).toBe(winner);
    expect(daemonsIn(rig.dir)).toEqual([winner]);
    expect(JSON.parse(readFileSync(join(box, 'pid'), 'utf8'))).toMatchObject({ pid: winner });
    expect(loser.stderr).toContain(`a daemon (pid ${winner}) already serves`);
  }, 60_000);
});
