// Content-addressed objects: <cacheDir>/objects/ab/cdef… named by sha256. A folder is stored as its files'
// objects plus a `<sha>.dir` object holding its manifest (src/hash/manifest.ts), whose sha256 is the
// folder's hash, so a folder can be restored from that hash alone.
//
// Safety strategy: objects are always COPIES (reflinks where the filesystem supports them), made read-only
// (0444), and checkouts are copies too. No workspace file ever shares an inode with an object, so no
// editor, `>>` or tool writing in place (root ignores 0444) can corrupt the cache. Every write is a temp
// file inside the target folder, fsync-free but renamed into place only once complete and verified.
import { constants as fsConstants, promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { crashPoint, faultPoint } from '../crash.js';
import { failure } from '../diagnostics.js';
import { diskFullError, isDiskFull, tempPathFor, toPosix } from '../fsutil.js';
import { PinFile } from './pins.js';
import { digestFiles } from '../hash/file-hash.js';
import { manifestText, parseManifest, recentManifest, sha256Text, type ManifestEntry } from '../hash/manifest.js';
import { Hasher, type PathHash } from '../hash/index.js';
import { refuseUnsafeWrite } from '../paths/policy.js';

const SHA_RE = /^[0-9a-f]{64}$/;
const DIR_SUFFIX = '.dir';

export interface StoredObject {
  sha256: string;
  isDir: boolean;
  path: string; // absolute
  size: number;
}

function checkSha(sha256: string): void {
  if (!SHA_RE.test(sha256)) throw failure(`not a sha256: '${sha256}'`);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isFile();
  } catch {
    return false;
  }
}

export class ObjectCache {
  readonly objectsDir: string;
  /** What this store inserted, kept from a concurrent gc until releasePins (see pins.ts). */
  private readonly pins: PinFile;

  /**
   * `hasher`, when given, vouches for objects already present through its stat cache (an object re-hashed
   * once is not read again while its inode, mtime and size stay); without it they are re-hashed.
   */
  constructor(
    readonly cacheDir: string,
    private readonly hasher?: Hasher,
  ) {
    this.objectsDir = join(resolve(cacheDir), 'objects');
    this.pins = new PinFile(cacheDir);
  }

  /** Lets gc remove what this store inserted: call once the lock names it (or the run failed). */
  async releasePins(): Promise<void> {
    await this.pins.release();
  }

  objectPath(sha256: string): string {
    checkSha(sha256);
    return join(this.objectsDir, sha256.slice(0, 2), sha256.slice(2));
  }

  dirObjectPath(sha256: string): string {
    return this.objectPath(sha256) + DIR_SUFFIX;
  }

  /** True when the object (for a folder: its manifest and every file it lists) is present. */
  async has(sha256: string): Promise<boolean> {
    if (await isFile(this.objectPath(sha256))) return true;
    if (!(await isFile(this.dirObjectPath(sha256)))) return false;
    try {
      const entries = await this.readManifest(sha256);
      for (const e of entries) if (!(await isFile(this.objectPath(e.sha256)))) return false;
      return true;
    } catch {
      return false;
    }
  }

  /** The files of a stored folder, from its `.dir` object. */
  async readManifest(sha256: string): Promise<ManifestEntry[]> {
    const path = this.dirObjectPath(sha256);
    const text = await fs.readFile(path, 'utf8').catch(() => {
      throw failure(`folder object ${sha256} is not in the cache`, { file: path });
    });
    // A manifest is trusted only when its bytes hash to its name: an edited one could list any file.
    const got = sha256Text(text);
    if (got !== sha256) {
      await fs.rm(path, { force: true });
      throw failure(`folder object ${sha256} is corrupt (its manifest hashes to ${got}); removed it, not using it`, {
        file: path,
        notes: ['run `rallycut repro` to rebuild it (or pull it from the remote)'],
      });
    }
    try {
      return parseManifest(text);
    } catch (err) {
      throw failure(`folder object ${sha256} is corrupt: ${(err as Error).message}`, { file: path });
    }
  }

  /** Stores root/relPath (already hashed as `hash`) in the cache; files already present are skipped. */
  async insertPath(root: string, relPath: string, hash: PathHash): Promise<void> {
    const abs = resolve(root, relPath);
    if (!hash.isDir) {
      await this.insertFile(abs, hash.sha256, relPath);
      return;
    }
    await this.pins.add([hash.sha256]); // before its files, so gc keeps them as they arrive
    let entries = recentManifest(hash.sha256);
    if (!entries) {
      // Not hashed in this process: rebuild the manifest (cheap when the stat cache knows the files).
      const hasher = await Hasher.open(root, this.cacheDir);
      const again = await hasher.hashPath(relPath);
      entries = again ? recentManifest(again.sha256) : undefined;
      if (!again || again.sha256 !== hash.sha256 || !entries) {
        throw failure(`'${toPosix(relPath)}' changed since it was hashed; not caching it`, { file: toPosix(relPath) });
      }
    }
    const problems: string[] = [];
    await this.pins.add(entries.map((e) => e.sha256));
    for (const e of entries) {
      try {
        await this.storeFile(join(abs, e.path), e.sha256, `${toPosix(relPath)}/${e.path}`);
      } catch (err) {
        if (isDiskFull(err)) throw err; // the headline, not a note; the other files would fail alike
        problems.push((err as Error).message);
      }
    }
    if (problems.length) throw failure(`could not cache ${problems.length} file(s) of '${toPosix(relPath)}'`, { notes: problems.slice(0, 20) });
    const text = manifestText(entries);
    if (sha256Text(text) !== hash.sha256) throw failure(`manifest of '${toPosix(relPath)}' does not match its hash`);
    const dest = this.dirObjectPath(hash.sha256);
    const existing = await fs.readFile(dest, 'utf8').catch(() => undefined);
    if (existing !== text) await this.commitObject(dest, async (tmp) => fs.writeFile(tmp, text)); // absent or damaged
  }

  /** Copies a file into the cache under sha256, verifying the copy's content first. */
  async insertFile(abs: string, sha256: string, label = abs): Promise<void> {
    await this.pins.add([sha256]);
    await this.storeFile(abs, sha256, label);
  }

  private async storeFile(abs: string, sha256: string, label: string): Promise<void> {
    const dest = this.objectPath(sha256);
    const [have, src] = await Promise.all([fs.stat(dest).catch(() => undefined), fs.stat(abs)]);
    // Present, the right size and intact: keep it. A truncated leftover or a corrupt object is replaced by
    // this fresh copy, so a recomputed out repairs the cache instead of leaving the bad bytes in it.
    if (have?.isFile() && have.size === src.size && (await this.intact(dest, sha256))) return;
    await this.commitObject(
      dest,
      async (tmp) => {
        await fs.copyFile(abs, tmp, fsConstants.COPYFILE_FICLONE);
        if ((await sha256Of(tmp)) !== sha256) throw failure(`'${toPosix(label)}' changed since it was hashed; not caching it`, { file: toPosix(label) });
      },
      `caching '${toPosix(label)}' as ${dest}`,
    );
  }

  /** Whether the file's bytes hash to sha256 (an object, or a downloaded copy of one). */
  async intact(objectFile: string, sha256: string): Promise<boolean> {
    if (this.hasher) return (await this.hasher.hashPath(objectFile))?.sha256 === sha256;
    return (await sha256Of(objectFile)) === sha256;
  }

  /** Writes an object through a temp file in its own folder, read-only, then renames it into place. */
  private async commitObject(dest: string, write: (tmp: string) => Promise<void>, doing?: string): Promise<void> {
    await fs.mkdir(dirname(dest), { recursive: true });
    const tmp = tempPathFor(dest);
    try {
      faultPoint('cache.write');
      await write(tmp);
      await fs.chmod(tmp, 0o444);
      crashPoint('cache.insert');
      await fs.rename(tmp, dest);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw diskFullError(err, dest, doing);
    }
  }

  /**
   * Restores root/relPath from the object sha256 (copies, never links); replaces whatever is there. Files
   * get mode 0644, or 0755 when recorded executable (`isexec` for a file, per entry for a folder).
   */
  async checkoutPath(root: string, relPath: string, sha256: string, isDir: boolean, isexec = false): Promise<void> {
    await refuseUnsafeWrite(root, relPath, 'writing', { cacheDir: this.cacheDir });
    const dest = resolve(root, relPath);
    await fs.mkdir(dirname(dest), { recursive: true });
    if (!isDir) {
      const src = this.objectPath(sha256);
      if (!(await isFile(src))) throw failure(`object ${sha256} for '${toPosix(relPath)}' is not in the cache`, { file: toPosix(relPath) });
      const tmp = tempPathFor(dest);
      try {
        await copyOut(src, tmp, isexec);
        await verifyCopy(tmp, src, sha256, relPath);
        crashPoint('checkout.file');
        await replaceWith(tmp, dest);
      } finally {
        await fs.rm(tmp, { force: true });
      }
      return;
    }
    const entries = await this.readManifest(sha256);
    const missing: string[] = [];
    for (const e of entries) if (!(await isFile(this.objectPath(e.sha256)))) missing.push(`${e.path} (${e.sha256})`);
    if (missing.length) {
      throw failure(`${missing.length} file(s) of '${toPosix(relPath)}' are missing from the cache`, { file: toPosix(relPath), notes: missing.slice(0, 20) });
    }
    // Build the folder beside its destination, then swap it in, so a failure leaves the old one intact.
    const tmpDir = tempPathFor(dest);
    try {
      await fs.mkdir(tmpDir);
      for (const e of entries) {
        const target = join(tmpDir, ...e.path.split('/'));
        await fs.mkdir(dirname(target), { recursive: true });
        await copyOut(this.objectPath(e.sha256), target, e.isexec === true);
        await verifyCopy(target, this.objectPath(e.sha256), e.sha256, `${relPath}/${e.path}`);
        crashPoint('checkout.dir');
      }
      await replaceWith(tmpDir, dest);
    } finally {
      await fs.rm(tmpDir, { recursive: true, force: true });
    }
  }

  /** Re-hashes the object: a file against its name; a folder's manifest against its name and its files. */
  async verify(sha256: string): Promise<boolean> {
    const file = this.objectPath(sha256);
    if (await isFile(file)) return (await sha256Of(file)) === sha256;
    const dir = this.dirObjectPath(sha256);
    if (!(await isFile(dir))) return false;
    const text = await fs.readFile(dir, 'utf8');
    if (sha256Text(text) !== sha256) return false;
    let entries: ManifestEntry[];
    try {
      entries = parseManifest(text);
    } catch {
      return false;
    }
    const paths = entries.map((e) => this.objectPath(e.sha256));
    const sizes = await Promise.all(
      paths.map((p) =>
        fs.stat(p).then(
          (st) => st.size,
          () => -1,
        ),
      ),
    );
    if (sizes.some((n) => n < 0)) return false;
    const digests = await digestFiles(
      paths.map((path, i) => ({ path, size: sizes[i]! })),
      undefined,
      false,
    );
    return digests.every((d, i) => 'sha256' in d && d.sha256 === entries[i]!.sha256);
  }

  /** Every object in the cache (not temp files). */
  async list(): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const prefixes = await fs.readdir(this.objectsDir).catch(() => [] as string[]);
    for (const prefix of prefixes.sort()) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      const names = await fs.readdir(join(this.objectsDir, prefix)).catch(() => [] as string[]);
      for (const name of names.sort()) {
        const isDir = name.endsWith(DIR_SUFFIX);
        const sha256 = prefix + (isDir ? name.slice(0, -DIR_SUFFIX.length) : name);
        if (!SHA_RE.test(sha256)) continue;
        const path = join(this.objectsDir, prefix, name);
        const st = await fs.stat(path).catch(() => undefined);
        if (st?.isFile()) out.push({ sha256, isDir, path, size: st.size });
      }
    }
    return out;
  }

  async remove(obj: StoredObject): Promise<void> {
    await fs.rm(obj.path, { force: true });
  }
}

/** sha256 of a cache-side file (off the event loop when large; not counted as a workspace read). */
async function sha256Of(path: string): Promise<string | undefined> {
  const size = (await fs.stat(path)).size;
  const [d] = await digestFiles([{ path, size }], undefined, false);
  return d && 'sha256' in d ? d.sha256 : undefined;
}

/** A checked-out copy must hash to its object's name: a corrupt object is named, never used silently. */
// The provably bad object is removed, so the next repro (or pull) stores a good one in its place.
async function verifyCopy(copy: string, object: string, sha256: string, label: string): Promise<void> {
  const got = await sha256Of(copy);
  if (got === sha256) return;
  await fs.rm(object, { force: true });
  throw failure(`cache object ${sha256} for '${toPosix(label)}' is corrupt (its content hashes to ${got ?? 'nothing'}); removed it, not restoring it`, {
    file: toPosix(label),
    notes: ['run `rallycut repro` to rebuild it (or pull it from the remote)'],
  });
}

/** A writable copy of an object (reflink when possible). */
async function copyOut(src: string, dest: string, executable: boolean): Promise<void> {
  await fs.copyFile(src, dest, fsConstants.COPYFILE_FICLONE);
  await fs.chmod(dest, executable ? 0o755 : 0o644);
}

/** Renames tmp onto dest; a folder (or a file where a folder must go) in the way is moved aside first. */
async function replaceWith(tmp: string, dest: string): Promise<void> {
  const [tmpSt, destSt] = await Promise.all([fs.lstat(tmp), fs.lstat(dest).catch(() => undefined)]);
  if (destSt && (destSt.isDirectory() || tmpSt.isDirectory())) {
    const aside = tempPathFor(dest);
    await fs.rename(dest, aside);
    try {
      await fs.rename(tmp, dest);
    } catch (err) {
      await fs.rename(aside, dest).catch(() => undefined);
      throw err;
    }
    await fs.rm(aside, { recursive: true, force: true });
    return;
  }
  await fs.rename(tmp, dest);
}
