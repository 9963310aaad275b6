// Questions about other processes on this host: is a pid running, and since when (to tell a reused pid
// from the process that first had it). Used by the project lock, gc's temp-file sweep and the daemon's pid file.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** A process that owns some work (a lock, a pin, a running experiment), recorded so others can judge it later. */
export interface ProcessOwner {
  pid: number;
  /** The owner's host name; absent in files written by older versions. */
  host?: string;
  /** The kernel's start time of the owner's pid (Linux /proc), to detect a reused pid. */
  pidStart?: string;
}

/** This process, as an owner. */
export function currentOwner(): ProcessOwner {
  const pidStart = processStartTime(process.pid);
  return { pid: process.pid, host: hostname(), ...(pidStart !== undefined ? { pidStart } : {}) };
}

/** A recorded owner read back from a file (untrusted JSON); undefined unless it names a usable pid. */
export function parseProcessOwner(value: unknown): ProcessOwner | undefined {
  const o = value !== null && typeof value === 'object' ? (value as Partial<Record<keyof ProcessOwner, unknown>>) : {};
  // Never 0 or negative: kill(0 or -n, 0) asks about whole process groups, which are always alive.
  if (typeof o.pid !== 'number' || !Number.isInteger(o.pid) || o.pid <= 0) return undefined;
  return { pid: o.pid, ...(typeof o.host === 'string' ? { host: o.host } : {}), ...(typeof o.pidStart === 'string' ? { pidStart: o.pidStart } : {}) };
}

/** Whether the owner is certainly gone. Only judged on the same host (another host's pids mean nothing here). */
export function ownerGone(owner: ProcessOwner): boolean {
  if (owner.host !== undefined && owner.host !== hostname()) return false;
  if (!processAlive(owner.pid)) return true;
  const now = owner.pidStart === undefined ? undefined : processStartTime(owner.pid);
  return now !== undefined && now !== owner.pidStart; // the pid belongs to a newer process
}

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
