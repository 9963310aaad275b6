// Hashing file contents: in this thread for small amounts, on a worker_threads pool for large ones.
// node:crypto's sha256 runs on the calling thread, so a pool is how hashing uses more than one core.
// Workers read with a fixed 1 MiB buffer: memory stays flat however large the files are.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface FileDigest {
  sha256: string;
  size: number; // bytes actually read
}

export type DigestResult = FileDigest | { error: string; code?: string };

export interface HashJob {
  path: string; // absolute
  size: number; // expected, for scheduling and progress
}

/** Counts reads so tests can prove that unchanged files are not read again. */
export const hashCounters = { filesRead: 0, bytesRead: 0 };

const CHUNK = 1 << 20;

/** Hashes one file synchronously with a reusable buffer. */
export function digestFileSync(path: string, buf: Buffer = Buffer.allocUnsafe(CHUNK), count = true): FileDigest {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  let size = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(n === buf.length ? buf : buf.subarray(0, n));
      size += n;
    }
  } finally {
    closeSync(fd);
  }
  if (count) {
    hashCounters.filesRead++;
    hashCounters.bytesRead += size;
  }
  return { sha256: hash.digest('hex'), size };
}

// The worker is plain CommonJS evaluated from a string, so it runs the same under tsx, vitest and dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const buf = Buffer.allocUnsafe(${CHUNK});
const REPORT_EVERY = 64 * 1024 * 1024;
parentPort.on('message', (msg) => {
  const results = [];
  let sinceReport = 0;
  for (const path of msg.paths) {
    try {
      const hash = createHash('sha256');
      const fd = openSync(path, 'r');
      let size = 0;
      try {
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, null);
          if (n === 0) break;
          hash.update(n === buf.length ? buf : buf.subarray(0, n));
          size += n;
          sinceReport += n;
          if (sinceReport >= REPORT_EVERY) { parentPort.postMessage({ id: msg.id, progress: sinceReport }); sinceReport = 0; }
        }
      } finally { closeSync(fd); }
      results.push({ sha256: hash.digest('hex'), size });
    } catch (err) {
      results.push({ error: String(err && err.message || err), code: err && err.code });
    }
  }
  parentPort.postMessage({ id: msg.id, progress: sinceReport, results });
});
`;

interface WorkerReply {
  id: number;
  progress: number;
  results?: DigestResult[];
}

/** Below this much work, starting workers (~30 ms each) costs more than it saves. */
export const POOL_MIN_BYTES = 32 * 1024 * 1024;
const BATCH_BYTES = 8 * 1024 * 1024;
const BATCH_FILES = 256;

export function poolSize(): number {
  const env = Number(process.env.RALLYCUT_HASH_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return Math.max(1, Math.min(availableParallelism(), 8));
}

function errorOf(err: unknown): DigestResult {
  const e = err as NodeJS.ErrnoException;
  return { error: e?.message ?? String(err), ...(e?.code ? { code: e.code } : {}) };
}

/**
 * Hashes the files, calling onBytes as bytes are read. Results come back in the jobs' order.
 * Errors (a file vanished, unreadable) are per file, so one bad file never costs the others.
 */
export async function digestFiles(jobs: readonly HashJob[], onBytes: (n: number) => void = () => {}, count = true): Promise<DigestResult[]> {
  const total = jobs.reduce((s, j) => s + j.size, 0);
  const threads = Math.min(poolSize(), jobs.length);
  // Large work goes to workers even for one file: the sha256 then runs off the event loop.
  if (total < POOL_MIN_BYTES) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const out: DigestResult[] = [];
    for (const job of jobs) {
      try {
        const d = digestFileSync(job.path, buf, count);
        onBytes(d.size);
        out.push(d);
      } catch (err) {
        out.push(errorOf(err));
      }
      // Let timers and progress breathe between files.
      if (out.length % 64 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    return out;
  }
  return runPool(jobs, threads, onBytes, count);
}

async function runPool(jobs: readonly HashJob[], threads: number, onBytes: (n: number) => void, count: boolean): Promise<DigestResult[]> {
  // Largest files first so one big file does not finish last on an otherwise idle pool.
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b]!.size - jobs[a]!.size);
  const results: DigestResult[] = new Array<DigestResult>(jobs.length);
  let next = 0;
  let batchId = 0;
  const takeBatch = (): number[] => {
    const batch: number[] = [];
    let bytes = 0;
    while (next < order.length && batch.length < BATCH_FILES && (batch.length === 0 || bytes < BATCH_BYTES)) {
      const i = order[next++]!;
      batch.push(i);
      bytes += jobs[i]!.size;
    }
    return batch;
  };
  const workers: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: threads }, () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(WORKER_SOURCE, { eval: true });
          workers.push(worker);
          const inFlight = new Map<number, number[]>();
          const send = (): void => {
            const batch = takeBatch();
            if (batch.length === 0) {
              resolve();
              return;
            }
            const id = batchId++;
            inFlight.set(id, batch);
            worker.postMessage({ id, paths: batch.map((i) => jobs[i]!.path) });
          };
          worker.on('message', (reply: WorkerReply) => {
            if (reply.progress) onBytes(reply.progress);
            if (!reply.results) return;
            const batch = inFlight.get(reply.id) ?? [];
            inFlight.delete(reply.id);
            batch.forEach((jobIndex, k) => {
              const r = reply.results![k] ?? { error: 'no result from hash worker' };
              if (count && 'sha256' in r) {
                hashCounters.filesRead++;
                hashCounters.bytesRead += r.size;
              }
              results[jobIndex] = r;
            });
            send();
          });
          worker.on('error', reject);
          worker.on('exit', (code) => {
            if (inFlight.size > 0) reject(new Error(`hash worker exited with code ${code}`));
          });
          send();
        }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
