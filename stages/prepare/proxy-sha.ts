// sha256 of a proxy file, read into one reused buffer. A stream allocates a fresh buffer per chunk, and
// first-touching fresh memory is what dominated (measured on the 2-core VM: 25–55 ms for a 2.6 MB proxy
// by stream, 2–3 ms here). Proxies are small (a few MB per minute), so a synchronous read is brief; larger
// files are read asynchronously, still into the same buffer, to keep the event loop free.
import { createHash } from 'node:crypto';
import { closeSync, promises as fs, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 20;
/** Up to this size the file is hashed synchronously (a few ms at most). */
const SYNC_LIMIT = 16 * CHUNK;
let shared: Buffer | undefined;

export async function proxySha256(path: string, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  const hash = createHash('sha256');
  const { size } = await fs.stat(path);
  if (size <= SYNC_LIMIT) {
    const buf = (shared ??= Buffer.allocUnsafe(CHUNK));
    const fd = openSync(path, 'r');
    try {
      for (let n = readSync(fd, buf, 0, CHUNK, null); n > 0; n = readSync(fd, buf, 0, CHUNK, null)) hash.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    return hash.digest('hex');
  }
  // Its own buffer: several asynchronous hashes may be in flight at once.
  const buf = Buffer.allocUnsafe(4 * CHUNK);
  const fd = await fs.open(path, 'r');
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fd.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fd.close();
  }
  return hash.digest('hex');
}
