// Named crash points for the reliability tests. Inert unless RALLYCUT_CRASH_AT names one: `name:N` kills the
// process with SIGKILL at the Nth hit of that point (N defaults to 1), so a test can prove that a kill at any
// write that matters leaves only temp files or a half-done state the next run repairs, never a partial file
// under its final name. Several points may be listed, comma-separated.
function parseTargets(spec: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of spec.split(',')) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    const colon = trimmed.lastIndexOf(':');
    const name = colon > 0 ? trimmed.slice(0, colon) : trimmed;
    const n = colon > 0 ? Number(trimmed.slice(colon + 1)) : 1;
    out.set(name, Number.isInteger(n) && n > 0 ? n : 1);
  }
  return out;
}

/**
 * Counts the hits of the points an environment variable arms (`name:N,…`). The returned function gives, for
 * an armed point, its hit number and the N it is armed at; undefined (one env lookup) when nothing is armed.
 */
function armedPoints(envVar: string): (name: string) => { hit: number; at: number } | undefined {
  const hits = new Map<string, number>();
  let parsedFrom: string | undefined;
  let targets = new Map<string, number>();
  return (name) => {
    const spec = process.env[envVar];
    if (!spec) return undefined;
    if (spec !== parsedFrom) {
      parsedFrom = spec;
      targets = parseTargets(spec);
      hits.clear();
    }
    const at = targets.get(name);
    if (at === undefined) return undefined;
    const hit = (hits.get(name) ?? 0) + 1;
    hits.set(name, hit);
    return { hit, at };
  };
}

const crashHit = armedPoints('RALLYCUT_CRASH_AT');

/** Marks a crash point. Costs one env lookup when no crash is armed. */
export function crashPoint(name: string): void {
  const armed = crashHit(name);
  if (armed && armed.hit === armed.at) {
    process.stderr.write(`rallycut: crash point '${name}' hit ${armed.hit} time(s): killing the process (RALLYCUT_CRASH_AT)\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}

// Fault points: RALLYCUT_FAULT_AT=name:N makes the Nth hit of a point and every later one throw what a full
// disk throws (code ENOSPC, no path, as Node reports a failed write), so tests can prove that a full disk
// fails loudly, names the file and keeps what existed, and that a rerun after space frees up succeeds.
const faultHit = armedPoints('RALLYCUT_FAULT_AT');

/** Marks a write that can fail for lack of space. Costs one env lookup when no fault is armed. */
export function faultPoint(name: string): void {
  const armed = faultHit(name);
  if (armed && armed.hit >= armed.at) {
    const err = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
    err.code = 'ENOSPC';
    err.errno = -28;
    err.syscall = 'write';
    throw err;
  }
}

/** Every fault point the code base marks. */
export const FAULT_POINTS = ['fs.write', 'cache.write'] as const;

/** Every crash point the code base marks, for `--help`-style listings and the crash-matrix test. */
export const CRASH_POINTS = [
  'fs.atomic-rename',
  'cache.insert',
  'cache.dir-manifest',
  'lock.write',
  'checkout.file',
  'checkout.dir',
  'runcache.save',
  'remote.upload',
  'remote.upload-part',
  'remote.download-rename',
  'pull.rename',
  'restore.transaction',
  'features.write',
  'checkpoint.write',
  'prepare.proxy-write',
] as const;

// Pause points: RALLYCUT_PAUSE_AT=name:N holds the process at the Nth hit of a point until a test lets it go,
// so a test can interleave two processes at an exact step (e.g. both have read a stale lock; one takes it
// over while the other waits). The process creates `<RALLYCUT_PAUSE_DIR>/<name>.paused` (holding its pid)
// and goes on once `<name>.resume` exists there; the test waits for the one and writes the other, both events.
const pauseHit = armedPoints('RALLYCUT_PAUSE_AT');

/** Marks a step another process may be interleaved with. Costs one env lookup when no pause is armed. */
export async function pausePoint(name: string): Promise<void> {
  const armed = pauseHit(name);
  const dir = process.env.RALLYCUT_PAUSE_DIR;
  if (!armed || armed.hit !== armed.at || !dir) return;
  const { existsSync, watch, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const resume = join(dir, `${name}.resume`);
  await new Promise<void>((go) => {
    const watcher = watch(dir, () => {
      if (existsSync(resume)) {
        watcher.close();
        go();
      }
    });
    writeFileSync(join(dir, `${name}.paused`), String(process.pid)); // after the watch: a quick resume is not missed
    if (existsSync(resume)) {
      watcher.close();
      go();
    }
  });
}
