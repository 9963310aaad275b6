// Questions about other processes on this host: is a pid running, and since when (to tell a reused pid
// from the process that first had it). Used by the project lock and by gc's temp-file sweep.
import { readFileSync } from 'node:fs';

/** Whether a process with this pid exists on this host (ours or another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks after boot); undefined where there is no /proc. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
