// How a command talks to the project daemon: files in a per-project folder under the temp dir, not a
// socket. A request is a file renamed into the folder; the daemon, watching it, writes the reply beside
// it; the client waits for it with short blocking sleeps. Two reasons:
// - speed: Node's `net` module and a first connection cost a client ~10 ms, an answered no-op's whole
//   budget above Node's own start; a few sync file calls cost ~1 ms;
// - order: the daemon's watches share one inotify queue, which the kernel keeps in order. The event of a
//   request therefore reaches the daemon after the events of every write that finished before it, so the
//   daemon has always seen those changes before it reads the question.
// Only node built-ins and process.ts here: this file is bundled into the client (dist/cli/daemon-client.cjs).
// The daemon's side (taking the folder, serving requests) is mailbox-server.ts.
import { existsSync, lstatSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ownerGone, parseProcessOwner } from '../process.js';

export const PID_FILE = 'pid';
export const REQUEST = '.req';
export const REPLY = '.res';

/** The daemon folder of `root`: per user, under the temp dir, named by a hash of the root. */
export function mailboxDir(root: string, env: NodeJS.ProcessEnv): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const base = env.RALLYCUT_DAEMON_DIR ? resolve(env.RALLYCUT_DAEMON_DIR) : join(tmpdir(), `rallycut-daemon-${uid}`);
  return join(base, nameHash(resolve(root)));
}

/**
 * 64 bits of FNV-1a (two 32-bit lanes) as hex. Not node:crypto: loading it costs the client ~7 ms. A
 * collision is harmless: a daemon refuses requests for another root.
 */
function nameHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/**
 * Whether the folder holding the mailboxes is ours alone: a directory (not a link) owned by this user that
 * nobody else may write. Its name under the temp dir is predictable, so another user could create it first
 * and forge replies; then the daemon is not used at all.
 */
export function privateBase(dir: string): boolean {
  const st = lstatSync(dirname(dir), { throwIfNoEntry: false });
  if (!st?.isDirectory()) return false;
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  return st.uid === uid && (st.mode & 0o022) === 0;
}

/** The pid of the daemon serving `dir`, when one is alive (its pid file is a lock file: src/lockfile.ts). */
export function daemonPid(dir: string): number | undefined {
  if (!privateBase(dir)) return undefined;
  let recorded: unknown;
  try {
    recorded = JSON.parse(readFileSync(join(dir, PID_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  // A bare number is the pid file of an older version. parseProcessOwner never names pid 0 (our own process group).
  const owner = parseProcessOwner(typeof recorded === 'number' ? { pid: recorded } : recorded);
  return owner && !ownerGone(owner) ? owner.pid : undefined;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Sends one request and waits (blocking) for the reply; undefined when no daemon is alive there, or it did
 * not reply within timeoutMs (the request is withdrawn then).
 */
export function ask(dir: string, request: unknown, timeoutMs: number): unknown {
  if (daemonPid(dir) === undefined) return undefined;
  const id = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const reqFile = join(dir, id + REQUEST);
  const reply = join(dir, id + REPLY);
  try {
    writeFileSync(join(dir, id + '.tmp'), JSON.stringify(request));
    renameSync(join(dir, id + '.tmp'), reqFile);
  } catch {
    return undefined;
  }
  const deadline = Date.now() + timeoutMs;
  for (let waited = 0; Date.now() < deadline; waited++) {
    if (existsSync(reply)) {
      try {
        const text = readFileSync(reply, 'utf8');
        unlinkSync(reply);
        return JSON.parse(text) as unknown;
      } catch {
        return undefined;
      }
    }
    Atomics.wait(sleeper, 0, 0, waited < 200 ? 0.2 : 2); // replies come in ~1 ms; a busy daemon in ~100 ms
  }
  rmSync(reqFile, { force: true });
  return undefined;
}
