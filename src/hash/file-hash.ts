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
          if (sinceReport >= REPORT_EVERY) { parentPort.postMessage({ progress: sinceReport }); sinceReport = 0; }
        }
      } finally { closeSync(fd); }
      results.push({ sha256: hash.digest('hex'), size });
    } catch (err) {
      results.push({ error: String(err && err.message || err), code: err && err.code });
    }
  }
  parentPort.postMessage({ progress: sinceReport, results });
});
`;

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
  const threads = poolSize();
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

/** Largest files first, cut into batches of at most BATCH_FILES files / about BATCH_BYTES bytes. */
function batchesOf(jobs: readonly HashJob[]): number[][] {
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b]!.size - jobs[a]!.size);
  const batches: number[][] = [];
  let cur: number[] = [];
  let bytes = 0;
  for (const i of order) {
    if (cur.length && (cur.length >= BATCH_FILES || bytes >= BATCH_BYTES)) {
      batches.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(i);
    bytes += jobs[i]!.size;
  }
  if (cur.length) batches.push(cur);
  return batches;
}

/** Sends jobs[batch] to the pool; their results land in results[] at the same indexes. */
function submitBatch(
  pool: HashPool,
  jobs: readonly HashJob[],
  batch: readonly number[],
  results: DigestResult[],
  onBytes: (n: number) => void,
  count: boolean,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    pool.run({
      paths: batch.map((i) => jobs[i]!.path),
      onProgress: onBytes,
      done(replies) {
        batch.forEach((jobIndex, k) => {
          const r = replies[k] ?? { error: 'no result from hash worker' };
          if (count && 'sha256' in r) {
            hashCounters.filesRead++;
            hashCounters.bytesRead += r.size;
          }
          results[jobIndex] = r;
        });
        resolve();
      },
      fail: reject,
    });
  });
}

async function runPool(jobs: readonly HashJob[], threads: number, onBytes: (n: number) => void, count: boolean): Promise<DigestResult[]> {
  const pool = sharedPool(threads);
  const results: DigestResult[] = new Array<DigestResult>(jobs.length);
  await Promise.all(batchesOf(jobs).map((batch) => submitBatch(pool, jobs, batch, results, onBytes, count)));
  return results;
}

/**
 * Takes files one at a time while a tree is still being walked. Once the work is large enough for the
 * pool, full batches go to the workers at once, so their hashing overlaps the (synchronous) walk and
 * their start-up. Small work is hashed in this thread by finish().
 */
export class Digester {
  private readonly jobs: HashJob[] = [];
  private readonly results: DigestResult[] = [];
  private readonly inFlight: Promise<void>[] = [];
  private pool: HashPool | undefined;
  private pendingFrom = 0;
  private pendingBytes = 0;
  private total = 0;

  constructor(
    private readonly onBytes: (n: number) => void = () => {},
    private readonly count = true,
  ) {}

  get totalBytes(): number {
    return this.total;
  }

  /** Queues a file; returns its index in finish()'s results. */
  add(job: HashJob): number {
    const index = this.jobs.push(job) - 1;
    this.total += job.size;
    this.pendingBytes += job.size;
    if (!this.pool && this.total >= POOL_MIN_BYTES) this.pool = sharedPool(poolSize());
    if (this.pool && (this.pendingBytes >= BATCH_BYTES || this.jobs.length - this.pendingFrom >= BATCH_FILES)) this.flush();
    return index;
  }

  private flush(): void {
    if (!this.pool || this.pendingFrom === this.jobs.length) return;
    const batch = Array.from({ length: this.jobs.length - this.pendingFrom }, (_, k) => this.pendingFrom + k);
    this.pendingFrom = this.jobs.length;
    this.pendingBytes = 0;
    const p = submitBatch(this.pool, this.jobs, batch, this.results, this.onBytes, this.count);
    p.catch(() => undefined); // observed by finish(); never an unhandled rejection if the caller gave up
    this.inFlight.push(p);
  }

  async finish(): Promise<DigestResult[]> {
    if (!this.pool) return digestFiles(this.jobs, this.onBytes, this.count);
    this.flush();
    await Promise.all(this.inFlight);
    return this.results;
  }
}

interface PoolBatch {
  paths: string[];
  onProgress(bytes: number): void;
  done(results: DigestResult[]): void;
  fail(err: Error): void;
}

interface WorkerReply {
  progress: number;
  results?: DigestResult[];
}

/**
 * One pool per process (per size), shared by concurrent callers such as parallel stages, so threads stay
 * bounded. Workers start on first use and are unref'd while idle: they cost nothing and never keep the
 * process alive.
 */
class HashPool {
  private readonly queue: PoolBatch[] = [];
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, PoolBatch>();
  private live = 0;

  constructor(private readonly max: number) {}

  run(batch: PoolBatch): void {
    this.queue.push(batch);
    this.pump();
  }

  private pump(): void {
    while (this.queue.length) {
      let worker = this.idle.pop();
      if (!worker) {
        if (this.live >= this.max) return;
        worker = this.spawn();
      }
      const batch = this.queue.shift()!;
      this.busy.set(worker, batch);
      worker.ref();
      worker.postMessage({ paths: batch.paths });
    }
  }

  private spawn(): Worker {
    // execArgv: [] so flags such as --input-type=module or loaders never change how the CommonJS source runs.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    this.live++;
    let dead = false;
    worker.on('message', (reply: WorkerReply) => {
      const batch = this.busy.get(worker);
      if (!batch) return;
      if (reply.progress) batch.onProgress(reply.progress);
      if (!reply.results) return;
      this.busy.delete(worker);
      this.idle.push(worker);
      worker.unref();
      batch.done(reply.results);
      this.pump();
    });
    const lost = (err: Error): void => {
      if (dead) return;
      dead = true;
      this.live--;
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
      const batch = this.busy.get(worker);
      this.busy.delete(worker);
      batch?.fail(err);
      this.pump();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`hash worker exited with code ${code}`)));
    return worker;
  }
}

const pools = new Map<number, HashPool>();

function sharedPool(threads: number): HashPool {
  let pool = pools.get(threads);
  if (!pool) pools.set(threads, (pool = new HashPool(threads)));
  return pool;
}
