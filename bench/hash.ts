// Hashing benchmarks, each with its baseline measured in the same run:
//  1. first hashing of a tree of many files vs `sha256sum` over the same files (target ≥ 0.9× its throughput);
//  2. re-hash of the unchanged tree through the persisted stat cache (target: no file read, near zero time),
//     and the stat cache's load time for the tree's entries;
//  3. peak RSS of a child process hashing big files (target ≤ 250 MB for 4 GB), vs a bare node process.
// Default: 10,000 files / 100 MB and 1 GB of big files. BENCH_FULL=1: 10,000 files / 1 GB and 4 GB.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hasher, hashCounters } from '../src/hash/index.js';
import { StatCache } from '../src/hash/stat-cache.js';
import type { Bench } from './run.js';

const FULL = process.env.BENCH_FULL === '1';
const TREE_FILES = 10_000;
const TREE_BYTES = FULL ? 1024 ** 3 : 100 * 1024 ** 2;
const BIG_BYTES = FULL ? 4 * 1024 ** 3 : 1024 ** 3;
const BIG_FILE = 256 * 1024 ** 2;
const RSS_TARGET_MB = 250;

const MB = 1024 * 1024;
const fmtRate = (bytes: number, ms: number): string => `${(bytes / MB / (ms / 1000)).toFixed(0)} MiB/s`;

function timed<T>(fn: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e6];
}

async function timedAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e6];
}

/** TREE_FILES files in 100 sub-folders, sizes varying around the mean, random content from a shared pool. */
function makeTree(dir: string): number {
  const pool = randomBytes(4 * MB);
  const mean = Math.floor(TREE_BYTES / TREE_FILES);
  let total = 0;
  for (let i = 0; i < TREE_FILES; i++) {
    const sub = join(dir, `d${String(i % 100).padStart(2, '0')}`);
    if (i < 100) mkdirSync(sub, { recursive: true });
    const size = Math.max(1, Math.floor(mean * (0.5 + ((i * 7919) % 1000) / 1000)));
    const off = (i * 104729) % (pool.length - size);
    writeFileSync(join(sub, `f${i}.bin`), pool.subarray(off, off + size));
    total += size;
  }
  return total;
}

function makeBigFiles(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const chunk = randomBytes(4 * MB);
  for (let i = 0; i < BIG_BYTES / BIG_FILE; i++) {
    const fd = openSync(join(dir, `big${i}.bin`), 'w');
    for (let w = 0; w < BIG_FILE; w += chunk.length) {
      chunk[0] = i; // files differ
      writeSync(fd, chunk);
    }
    closeSync(fd);
  }
}

/** CPU seconds used by waited-for children (cutime + cstime from /proc/self/stat). */
function childCpuS(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // USER_HZ is 100 on Linux
}

function selfCpuS(): number {
  const u = process.cpuUsage(); // the whole process, worker threads included
  return (u.user + u.system) / 1e6;
}

function sha256sumRun(dir: string): { ms: number; cpu: number } {
  const cpu0 = childCpuS();
  const [r, ms] = timed(() =>
    spawnSync('sh', ['-c', 'find . -type f -print0 | xargs -0 sha256sum > /dev/null'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  if (r.status !== 0) throw new Error(`sha256sum failed: ${r.stderr.toString()}`);
  return { ms, cpu: childCpuS() - cpu0 };
}

/** The RSS child: hashes the folder given in argv and prints its peak RSS (KiB) as JSON. */
async function rssChild(dir: string, cacheDir: string): Promise<void> {
  const hasher = await Hasher.open(dirname(dir), cacheDir);
  const r = await hasher.hashPath(dir);
  process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, bytes: r?.size ?? 0 }) + '\n');
}

function childPeak(args: string[]): { maxRssKiB: number; bytes: number } {
  const r = spawnSync(process.execPath, [...process.execArgv, ...args], { encoding: 'utf8', env: { ...process.env, RALLYCUT_PROGRESS: '0' } });
  if (r.status !== 0) throw new Error(`RSS child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { maxRssKiB: number; bytes: number };
}

export const bench: Bench = {
  name: 'hash',
  async run() {
    const work = mkdtempSync(join(tmpdir(), 'rallycut-bench-hash-'));
    const prevProgress = process.env.RALLYCUT_PROGRESS;
    process.env.RALLYCUT_PROGRESS = '0';
    try {
      const tree = join(work, 'tree');
      const total = makeTree(tree);
      process.stdout.write(`tree: ${TREE_FILES} files, ${(total / MB).toFixed(0)} MiB (in page cache for both tools)\n`);

      // 1. First hashing vs sha256sum, alternating, best of 3 each (a fresh stat cache every time).
      // CPU seconds are shown too: on a busy machine they compare the work done when wall times cannot.
      const ours: number[] = [];
      const base: number[] = [];
      const oursCpu: number[] = [];
      const baseCpu: number[] = [];
      for (let round = 0; round < 3; round++) {
        const b = sha256sumRun(tree);
        base.push(b.ms);
        baseCpu.push(b.cpu);
        const cacheDir = join(work, `cache-${round}`);
        const cpu0 = selfCpuS();
        const [, ms] = await timedAsync(async () => {
          const h = await Hasher.open(work, cacheDir);
          await h.hashPath('tree');
          await h.save();
        });
        oursCpu.push(selfCpuS() - cpu0);
        ours.push(ms);
      }
      const oursMs = Math.min(...ours);
      const baseMs = Math.min(...base);
      const ratio = baseMs / oursMs;
      // The same first hash on one thread, to show what the worker pool adds.
      process.env.RALLYCUT_HASH_THREADS = '1';
      const [, oneMs] = await timedAsync(async () => (await Hasher.open(work, join(work, 'cache-1t'))).hashPath('tree'));
      delete process.env.RALLYCUT_HASH_THREADS;
      process.stdout.write(
        `first hash:  rallycut ${oursMs.toFixed(0)} ms (${fmtRate(total, oursMs)}; one thread: ${oneMs.toFixed(0)} ms)  vs  sha256sum ${baseMs.toFixed(0)} ms (${fmtRate(total, baseMs)})\n` +
          `             CPU time: rallycut ${Math.min(...oursCpu).toFixed(2)} s vs sha256sum ${Math.min(...baseCpu).toFixed(2)} s (load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)\n` +
          `             ratio ${ratio.toFixed(2)}× sha256sum's throughput; target ≥ 0.9× → ${ratio >= 0.9 ? 'PASS' : 'FAIL'}\n`,
      );

      // 2. Re-hash of the unchanged tree from the stat cache saved by round 0 (a new Hasher, as a new process would).
      const cacheDir = join(work, 'cache-0');
      const loadMs = Math.min(...Array.from({ length: 5 }, () => timed(() => StatCache.load(cacheDir))[1]));
      // Baseline: only reading the same file as text (what any format must at least pay).
      const readMs = Math.min(...Array.from({ length: 5 }, () => timed(() => readFileSync(join(cacheDir, 'stat-cache'), 'utf8'))[1]));
      const readsBefore = hashCounters.filesRead;
      const rehash: number[] = [];
      for (let i = 0; i < 3; i++) {
        const [, ms] = await timedAsync(async () => {
          const h = await Hasher.open(work, cacheDir);
          await h.hashPath('tree');
        });
        rehash.push(ms);
      }
      const reads = hashCounters.filesRead - readsBefore;
      const rehashMs = Math.min(...rehash);
      process.stdout.write(
        `re-hash:     ${rehashMs.toFixed(0)} ms for ${TREE_FILES} unchanged files (stat + cache lookup), ${reads} file(s) read;` +
          ` ${(oursMs / rehashMs).toFixed(0)}× faster than the first hash, ${(baseMs / rehashMs).toFixed(0)}× faster than sha256sum\n` +
          `             no file read again → ${reads === 0 ? 'PASS' : 'FAIL'}; stat-cache load ${loadMs.toFixed(1)} ms for ${TREE_FILES} entries, best of 5` +
          ` (reading the file alone: ${readMs.toFixed(1)} ms; target: a few ms)\n`,
      );
      rmSync(tree, { recursive: true, force: true });

      // 3. Peak RSS of a separate process hashing big files, vs a bare node process.
      const big = join(work, 'big');
      makeBigFiles(big);
      const self = fileURLToPath(import.meta.url);
      const bare = childPeak(['-e', 'process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, bytes: 0 }))']);
      const [peak, peakMs] = timed(() => childPeak([self, '--rss-child', big, join(work, 'cache-rss')]));
      process.env.RALLYCUT_HASH_THREADS = '1';
      const [, oneThreadMs] = timed(() => childPeak([self, '--rss-child', big, join(work, 'cache-rss-1t')]));
      delete process.env.RALLYCUT_HASH_THREADS;
      const peakMb = peak.maxRssKiB / 1024;
      process.stdout.write(
        `peak RSS:    ${peakMb.toFixed(0)} MB while hashing ${(peak.bytes / 1024 ** 3).toFixed(1)} GiB in ${BIG_BYTES / BIG_FILE} files` +
          ` (${fmtRate(peak.bytes, peakMs)} incl. process start; one thread ${fmtRate(peak.bytes, oneThreadMs)})  vs  bare node ${(bare.maxRssKiB / 1024).toFixed(0)} MB\n` +
          `             target ≤ ${RSS_TARGET_MB} MB → ${peakMb <= RSS_TARGET_MB ? 'PASS' : 'FAIL'}${FULL ? '' : ' (BENCH_FULL=1 for 4 GiB)'}\n`,
      );
    } finally {
      if (prevProgress === undefined) delete process.env.RALLYCUT_PROGRESS;
      else process.env.RALLYCUT_PROGRESS = prevProgress;
      rmSync(work, { recursive: true, force: true });
    }
  },
};

if (process.argv[2] === '--rss-child') await rssChild(process.argv[3]!, process.argv[4]!);
