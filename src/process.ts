// Questions about other processes on this host: is a pid running, and since when (to tell a reused pid
// from the process that first had it). Used by the project lock, gc's temp-file sweep and the daemon's pid file.
import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid runs on this host (ours or another user's). A zombie does not: it has
 * exited, and only waits to be reaped (an orphan's by init, which may take seconds).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: exists, owned by someone else
  }
  const state = procStatFields(pid)?.[0];
  return state !== 'Z' && state !== 'X';
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks after boot); undefined where there is no /proc. */
export function processStartTime(pid: number): string | undefined {
  return procStatFields(pid)?.[19];
}

/** The fields of /proc/<pid>/stat after the command name, from field 3 (state) on; undefined without /proc. */
function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
