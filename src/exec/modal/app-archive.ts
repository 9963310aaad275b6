// The remote CLI as one object: the install's files a remote handler run needs, packed into a
// deterministic ustar archive (sorted names, mtime 0, fixed owner), so it travels as a single upload under
// one content hash and is skipped entirely when the volume already has this build. Hundreds of small
// files uploaded one by one cost three Sandbox execs each.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { writeFileAtomic } from '../../fsutil.js';

const BLOCK = 512;

function header(name: string, size: number, mode: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  let base = name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut < 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`path too long for the app archive: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  const put = (text: string, off: number, len: number): void => void h.write(text, off, len, 'utf8');
  const octal = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0') + '\0';
  put(base, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8); // uid
  put(octal(0, 8), 116, 8); // gid
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12); // mtime: fixed, so the same files give the same bytes
  put('        ', 148, 8); // checksum field counts as spaces while summing
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** Packs `files` (absolute, under `root`) as paths relative to `root`. */
export async function packFiles(root: string, files: readonly string[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const abs of [...files].sort()) {
    const name = relative(root, abs).split(sep).join('/');
    const st = await fs.stat(abs);
    const data = await fs.readFile(abs);
    parts.push(header(name, data.length, st.mode & 0o111 ? 0o755 : 0o644), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

const memo = new Map<string, Promise<{ path: string; sha256: string }>>();

/** The archive of `files` under `<cacheDir>/tmp/app/<sha256>.tar`, packed again only when a file changed. */
export async function appArchive(cacheDir: string, root: string, files: readonly string[]): Promise<{ path: string; sha256: string }> {
  const stamps = await Promise.all(files.map(async (f) => `${f}:${(await fs.stat(f)).mtimeMs}`));
  const key = `${cacheDir}\0${root}\0${stamps.join('\0')}`;
  let p = memo.get(key);
  if (!p) {
    p = (async () => {
      const bytes = await packFiles(root, files);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const path = join(cacheDir, 'tmp', 'app', `${sha256}.tar`);
      if (!(await fs.stat(path).catch(() => undefined))) {
        await fs.mkdir(join(cacheDir, 'tmp', 'app'), { recursive: true });
        await writeFileAtomic(path, bytes);
      }
      return { path, sha256 };
    })();
    p.catch(() => memo.delete(key));
    memo.set(key, p);
  }
  return p;
}
