// Pins: objects a running process has stored (or found present and relies on) but not yet named in a
// pipeline.lock. `gc` from another workspace sharing the cache (RALLYCUT_CACHE_DIR, experiments) keeps them
// while that process lives. One file per pinning object store, <cache>/pins/<pid>-<random>.pins: the owner
// (pid, host, start time) on the first line, then one sha256 per line, appended. Removed when the run is done
// (or at exit); a file whose owner is gone is ignored and deleted by gc.
import { randomBytes } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { currentOwner, ownerGone, parseProcessOwner } from '../process.js';

const FOLDER = 'pins';
const SUFFIX = '.pins';
const SHA_LINE = /^[0-9a-f]{64}$/;
/** A pin from another host cannot be judged by pid: past this age it is ignored (no run takes a day to lock). */
const FOREIGN_MAX_AGE_MS = 24 * 60 * 60 * 1000;

const liveFiles = new Set<string>();
let exitHook = false;

/** The pins of one object store; the file is made on the first pin. */
export class PinFile {
  private file: string | undefined;

  constructor(private readonly cacheDir: string) {}

  /** Pins hashes; call before storing or relying on their objects, so gc, which lists objects first, sees them. */
  async add(hashes: readonly string[]): Promise<void> {
    if (hashes.length === 0) return;
    if (!this.file) {
      const dir = join(this.cacheDir, FOLDER);
      await fs.mkdir(dir, { recursive: true });
      const file = join(dir, `${process.pid}-${randomBytes(4).toString('hex')}${SUFFIX}`);
      await fs.writeFile(file, JSON.stringify(currentOwner()) + '\n', { flag: 'wx' });
      this.file = file;
      liveFiles.add(file);
      if (!exitHook) {
        exitHook = true;
        process.once('exit', () => liveFiles.forEach((f) => rmSync(f, { force: true })));
      }
    }
    await fs.appendFile(this.file, hashes.join('\n') + '\n');
  }

  /** Drops the pins: their objects are in a lock now (or the run failed). */
  async release(): Promise<void> {
    if (!this.file) return;
    liveFiles.delete(this.file);
    await fs.rm(this.file, { force: true });
    this.file = undefined;
  }
}

/** Every hash pinned by a live process. Pin files of gone processes are deleted unless `dry`. */
export async function livePins(cacheDir: string, dry: boolean): Promise<Set<string>> {
  const dir = join(cacheDir, FOLDER);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const pinned = new Set<string>();
  for (const name of names.filter((n) => n.endsWith(SUFFIX))) {
    const file = join(dir, name);
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8').catch(() => undefined), fs.stat(file).catch(() => undefined)]);
    if (text === undefined || !st) continue; // released meanwhile
    const [head = '', ...lines] = text.split('\n');
    const owner = parseProcessOwner(parseJson(head));
    // No owner: a file caught empty, just made (live), or damaged (judged by age like another host's).
    const old = Date.now() - st.mtimeMs > FOREIGN_MAX_AGE_MS;
    const gone = owner ? ownerGone(owner) || (owner.host !== hostname() && old) : old;
    if (gone) {
      if (!dry) await fs.rm(file, { force: true });
      continue;
    }
    for (const l of lines) if (SHA_LINE.test(l)) pinned.add(l);
  }
  return pinned;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
