// Finding the project daemons a test started, by what the kernel says about them (Linux /proc).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Pids of the daemon processes whose working folder is dir. */
export function daemonsIn(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === dir && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('daemon\0run')) pids.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}
