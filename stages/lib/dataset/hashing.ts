// Hashes of video files: our full-file sha256 (integrity), and the web app's content_hash (its dedup key),
// which is a hash of the whole file only up to 50 MiB. Above that the app hashes the first and last 10 MiB
// plus `name|size|lastModified` (the browser's timestamp at upload), so it cannot be recomputed from bytes.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { pipeline } from 'node:stream/promises';

export const MiB = 1024 * 1024;
/** Files up to this size have content_hash = sha256 of the whole file. */
export const APP_FULL_HASH_LIMIT = 50 * MiB;
const APP_EDGE_BYTES = 10 * MiB;

export const HEX64 = /^[0-9a-f]{64}$/;

export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: MiB }), hash, { signal });
  return hash.digest('hex');
}

async function readRange(fd: fs.FileHandle, start: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let off = 0;
  while (off < length) {
    const { bytesRead } = await fd.read(buf, off, length - off, start + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

/**
 * The web app's content_hash for a file. `name` is the uploaded file's name and `lastModified` the browser's
 * File.lastModified (ms since epoch); both matter only above 50 MiB.
 */
export async function appContentHash(path: string, name: string, lastModified: number): Promise<string> {
  const { size } = await fs.stat(path);
  if (size <= APP_FULL_HASH_LIMIT) return sha256File(path);
  const fd = await fs.open(path, 'r');
  try {
    const hash = createHash('sha256');
    hash.update(await readRange(fd, 0, APP_EDGE_BYTES));
    hash.update(await readRange(fd, size - APP_EDGE_BYTES, APP_EDGE_BYTES));
    hash.update(`${name}|${size}|${lastModified}`, 'utf8');
    return hash.digest('hex');
  } finally {
    await fd.close();
  }
}

/**
 * Checks content_hash against the bytes where that is possible. Returns null when consistent or not
 * checkable (a large file under the app's partial scheme), else a message for the user.
 */
export function contentHashProblem(contentHash: string, sha256: string, size: number): string | null {
  if (contentHash === sha256) return null;
  if (size > APP_FULL_HASH_LIMIT) return null; // partial scheme: opaque, sha256 is what we verify
  return `content_hash ${contentHash.slice(0, 12)}… does not match the file's bytes (sha256 ${sha256.slice(0, 12)}…, ${size} bytes ≤ 50 MiB, so the app would hash the whole file)`;
}

/** The sha256 a video's bytes must have: the recorded one, else content_hash when that is a full-file hash. */
export function expectedSha256(v: { sha256?: string; content_hash: string }, size: number): string | null {
  if (v.sha256) return v.sha256;
  return size <= APP_FULL_HASH_LIMIT ? v.content_hash : null;
}

/**
 * 32 hex digits laid out as a uuid like the app's ids (8-4-4-4-12), with the given version digit and the
 * RFC variant bits (variantDigit 0..3 picks 8, 9, a or b).
 */
export function uuidShape(hex: string, version: string, variantDigit: number): string {
  const s = `${hex.slice(0, 12)}${version}${hex.slice(13, 16)}${(8 + (variantDigit & 3)).toString(16)}${hex.slice(17, 32)}`;
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
