// Starting the project daemon in the background (`rallycut daemon start`, and RALLYCUT_DAEMON=auto).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { installedPath } from '../install.js';
import { CACHE_DIR } from '../project.js';

export const DAEMON_LOG = join(CACHE_DIR, 'daemon.log');
const LOG_KEEP_BYTES = 1 << 20;

/** Spawns `rallycut daemon run` for root, detached, logging to .cache/daemon.log (one older log kept past 1 MiB). */
export function spawnDaemon(root: string, env: NodeJS.ProcessEnv): ChildProcess {
  mkdirSync(join(root, CACHE_DIR), { recursive: true });
  const logPath = join(root, DAEMON_LOG);
  if ((statSync(logPath, { throwIfNoEntry: false })?.size ?? 0) > LOG_KEEP_BYTES) renameSync(logPath, logPath + '.1');
  const log = openSync(logPath, 'a');
  try {
    const child = spawn(process.execPath, [installedPath('bin', 'rallycut'), 'daemon', 'run'], { cwd: root, env, detached: true, stdio: ['ignore', log, log] });
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}
