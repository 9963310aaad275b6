// No-op `repro`: 7 chained stages over 10,000 dep files. Times the whole CLI process (built dist,
// `node bin/rallycut repro`) once everything is up to date, at two data sizes with the same file count
// (flatness), the same no-op answered by the project daemon, and the same no-op under wireit (npm scripts
// with files/output over the same tree). Baselines in the same run: a bare `node -e 0` start, and wireit.
// Sizes: default 20 MB vs 100 MB; BENCH_FULL=1 → 100 MB vs 1 GB. BENCH_RUNS sets the timed runs (default 7).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bench } from './run.js';

const HERE = dirname(fileURLToPath(import.meta.url));
// Works from bench/ (tsx) and from dist/bench/ (built).
const REPO = existsSync(join(HERE, '..', 'package.json')) ? resolve(HERE, '..') : resolve(HERE, '..', '..');
const BIN = join(REPO, 'bin', 'rallycut');
const STAGES = 7;
const FILES = 10_000;
const TARGET_MS = 150;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The best of the runs: on a shared, loaded machine the least disturbed run is the fairest figure. */
function best(xs: number[]): number {
  return Math.min(...xs);
}

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
/** CPU seconds (user + sys) of the last timed child, when /usr/bin/time is there: unlike wall time, it
 *  barely moves with machine load, so figures from a busy machine stay comparable. */
let lastCpuMs: number | undefined;

function timeMs(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const [file, argv] = GNU_TIME ? [GNU_TIME, ['-f', 'cpu %U %S', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.toString()}\n${r.stdout.toString()}`);
  const m = /cpu (\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr.toString());
  lastCpuMs = m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined;
  return ms;
}

/** Times a run; also collects its CPU time into `cpu` when measurable. */
function timed(cpu: number[], cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const ms = timeMs(cmd, args, cwd, env);
  if (lastCpuMs !== undefined) cpu.push(lastCpuMs);
  return ms;
}

/** data/p1..p7 with FILES files in all, `bytes` in total; a 7-stage chain, each over its part + the previous out. */
export function makeProject(bytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'rallycut-bench-noop-'));
  const per = Math.max(1, Math.floor(bytes / FILES));
  const chunk = Buffer.alloc(per);
  const made = new Set<string>();
  for (let i = 0; i < FILES; i++) {
    const part = (i % STAGES) + 1;
    const sub = join(dir, 'data', `p${part}`, String(Math.floor(i / 500)));
    if (!made.has(sub)) mkdirSync(sub, { recursive: true });
    made.add(sub);
    chunk.writeUInt32LE(i, 0); // distinct contents
    writeFileSync(join(sub, `f${i}.bin`), chunk);
  }
  const stages: string[] = ['stages:'];
  const wireit: Record<string, unknown> = {};
  const scripts: Record<string, string> = {};
  for (let s = 1; s <= STAGES; s++) {
    const deps = [`data/p${s}`, ...(s > 1 ? [`out/s${s - 1}.txt`] : [])];
    const command = `mkdir -p out && find data/p${s} -type f | wc -l > out/s${s}.txt`;
    stages.push(`  s${s}:`, `    cmd: ${JSON.stringify(command)}`, `    deps: [${deps.join(', ')}]`, `    outs: [out/s${s}.txt]`);
    scripts[`s${s}`] = 'wireit';
    wireit[`s${s}`] = {
      command,
      files: [`data/p${s}/**`, ...(s > 1 ? [`out/s${s - 1}.txt`] : [])],
      output: [`out/s${s}.txt`],
      ...(s > 1 ? { dependencies: [`s${s - 1}`] } : {}),
    };
  }
  writeFileSync(join(dir, 'pipeline.yaml'), stages.join('\n') + '\n');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'noop-bench', private: true, scripts, wireit }, null, 2));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RALLYCUT_PROGRESS: '0' };
  delete env.RALLYCUT_FROM_SOURCE;
  delete env.RALLYCUT_CACHE_DIR;
  return env;
}

/** First run (hashes everything, runs the stages), then a warm-up no-op that must really be a no-op. */
function prime(dir: string): void {
  const env = cliEnv();
  timeMs(process.execPath, [BIN, 'repro'], dir, env);
  const check = execFileSync(process.execPath, [BIN, 'repro', '--json'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const busy = (JSON.parse(check) as { stages: { outcome: string }[] }).stages.filter((s) => s.outcome !== 'skipped').length;
  if (busy !== 0) throw new Error(`the no-op run was not a no-op: ${busy} stage(s) did something`);
}

const noop = (dir: string, cpu: number[]): number => timed(cpu, process.execPath, [BIN, 'repro'], dir, cliEnv());

/** The least any Node tool must do for this no-op: start, then readdir + stat every dep file (no hashing, no
 *  lock, no planning). A floor, measured in the same run: the target cannot be met below it. */
const BARE_WALK = `const fs=require('fs');let n=0;(function w(d){for(const e of fs.readdirSync(d,{withFileTypes:true})){const p=d+'/'+e.name;if(e.isDirectory())w(p);else{const s=fs.statSync(p);n+=s.size>=0}}})('data');if(n!==${FILES})process.exit(1)`;
const bareWalk = (dir: string, cpu: number[]): number => timed(cpu, process.execPath, ['-e', BARE_WALK], dir, process.env);

/** The same no-op answered by the project daemon (`rallycut daemon start`): runs timed alternately on both
 *  projects, then the daemons' own counts confirm that each of those runs was answered by them. */
function daemonNoops(dirs: readonly string[], runs: number, cpu: number[][]): number[][] {
  const env = cliEnv();
  const answered = (dir: string): number => {
    const out = execFileSync(process.execPath, [BIN, 'daemon', 'status', '--json'], { cwd: dir, env }).toString();
    return (JSON.parse(out) as { answered?: number }).answered ?? -1;
  };
  try {
    for (const d of dirs) execFileSync(process.execPath, [BIN, 'daemon', 'start'], { cwd: d, env, stdio: 'ignore' });
    for (const d of dirs) timeMs(process.execPath, [BIN, 'repro'], d, env); // warm-up
    const before = dirs.map(answered);
    const times = dirs.map(() => [] as number[]);
    for (let i = 0; i < runs; i++) dirs.forEach((d, k) => times[k]!.push(timed(cpu[k]!, process.execPath, [BIN, 'repro'], d, env)));
    dirs.forEach((d, k) => {
      const n = answered(d) - before[k]!;
      if (n !== runs) throw new Error(`the daemon answered ${n} of ${runs} no-op runs in ${d}: see .cache/daemon.log`);
    });
    return times;
  } finally {
    for (const d of dirs) spawnSync(process.execPath, [BIN, 'daemon', 'stop'], { cwd: d, env, stdio: 'ignore' });
  }
}

function wireitNoop(dir: string, runs: number, cpu: number[]): number[] {
  const env: NodeJS.ProcessEnv = { ...cliEnv(), WIREIT_CACHE: 'none', WIREIT_LOGGER: 'quiet', CI: 'true' };
  const args = ['run', '--silent', `s${STAGES}`];
  timeMs('npm', args, dir, env); // prime
  timeMs('npm', args, dir, env); // warm-up no-op
  return Array.from({ length: runs }, () => timed(cpu, 'npm', args, dir, env));
}

/** The engine's own no-op work, without process start and module loading: main() called in-process. */
async function inProcessNoop(dir: string, runs: number): Promise<number[]> {
  const { main } = (await import(pathToFileURL(join(REPO, 'dist', 'src', 'cli', 'main.js')).href)) as {
    main(argv: string[], io: unknown): Promise<number>;
  };
  const io = { cwd: dir, env: cliEnv(), out: () => {}, err: () => {}, isTTY: false, signal: new AbortController().signal };
  const times: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t0 = performance.now();
    if ((await main(['repro'], io)) !== 0) throw new Error('in-process no-op repro failed');
    if (i > 0) times.push(performance.now() - t0); // the first call warms the JIT
  }
  return times;
}

export const bench: Bench = {
  name: 'noop-repro',
  async run() {
    if (!existsSync(join(REPO, 'dist', 'src', 'cli', 'main.js'))) throw new Error('build first: npm run build');
    const full = process.env.BENCH_FULL === '1';
    const runs = Number(process.env.BENCH_RUNS ?? 7);
    const [small, large] = full ? [100e6, 1e9] : [20e6, 100e6];
    const mb = (b: number): string => `${Math.round(b / 1e6)} MB`;
    const nodeCpu: number[] = [];
    const nodeFloor = best(Array.from({ length: 5 }, () => timed(nodeCpu, process.execPath, ['-e', '0'], REPO, process.env)));
    const dirs: string[] = [];
    try {
      const s = makeProject(small);
      dirs.push(s);
      const l = makeProject(large);
      dirs.push(l);
      prime(s);
      prime(l);
      // Interleaved, so a change in machine load hits both sizes alike.
      const smallRuns: number[] = [];
      const largeRuns: number[] = [];
      const smallCpu: number[] = [];
      const largeCpu: number[] = [];
      for (let i = 0; i < runs; i++) {
        smallRuns.push(noop(s, smallCpu));
        largeRuns.push(noop(l, largeCpu));
      }
      const a = { rallycut: best(smallRuns), rallycutMedian: median(smallRuns) };
      const walkCpu: number[] = [];
      const walkFloor = best(Array.from({ length: runs }, () => bareWalk(l, walkCpu)));
      const wireitCpu: number[] = [];
      const wireitRuns = process.env.BENCH_WIREIT === '0' ? [] : wireitNoop(l, Math.max(3, Math.ceil(runs / 2)), wireitCpu);
      const b = {
        rallycut: best(largeRuns),
        rallycutMedian: median(largeRuns),
        ...(wireitRuns.length ? { wireit: best(wireitRuns), wireitMedian: median(wireitRuns) } : {}),
      };
      const engineOnly = await inProcessNoop(l, runs);
      const daemonCpu: number[][] = [[], []];
      const [daemonSmall, daemonLarge] = daemonNoops([s, l], runs, daemonCpu) as [number[], number[]];
      const flat = b.rallycut / a.rallycut;
      const lines = [
        `${STAGES} stages, ${FILES} dep files; best (median) of ${runs} runs of \`node bin/rallycut repro\`, whole process`,
        `load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')} on ${availableParallelism()} cores`,
        `baseline: node -e 0 start-up        ${nodeFloor.toFixed(0)} ms`,
        `no-op repro @ ${mb(small).padEnd(7)}             ${a.rallycut.toFixed(0)} ms (${a.rallycutMedian.toFixed(0)})`,
        `no-op repro @ ${mb(large).padEnd(7)}             ${b.rallycut.toFixed(0)} ms (${b.rallycutMedian.toFixed(0)})  without the daemon: ${(b.rallycut / TARGET_MS).toFixed(2)}× the ${TARGET_MS} ms target (see the daemon's figure below)`,
        `  of which engine work (in-process main(), no start-up): ${best(engineOnly).toFixed(0)} ms (${median(engineOnly).toFixed(0)})`,
        `floor: node start + bare readdir/stat of the ${FILES} files (node -e)  ${walkFloor.toFixed(0)} ms; rallycut / floor ${(b.rallycut / walkFloor).toFixed(2)}×`,
        `flatness ${mb(large)}/${mb(small)}           ${flat.toFixed(2)}×  (target ≤ 1.30×: ${flat <= 1.3 ? 'met' : 'MISSED'})`,
      ];
      const d = { small: best(daemonSmall), large: best(daemonLarge) };
      lines.push(
        `with the project daemon (rallycut daemon start), the same no-op answered from memory:`,
        `  no-op repro @ ${mb(small).padEnd(7)}           ${d.small.toFixed(0)} ms (${median(daemonSmall).toFixed(0)})`,
        `  no-op repro @ ${mb(large).padEnd(7)}           ${d.large.toFixed(0)} ms (${median(daemonLarge).toFixed(0)})  target ≤ ${TARGET_MS} ms: ${d.large <= TARGET_MS ? 'met' : 'MISSED'} (node -e 0 ${d.large >= nodeFloor ? '+' : '−'}${Math.abs(d.large - nodeFloor).toFixed(0)} ms)`,
        `  flatness ${mb(large)}/${mb(small)}         ${(d.large / d.small).toFixed(2)}×`,
      );
      if (b.wireit !== undefined) {
        const ratio = b.wireit / b.rallycut;
        const daemonRatio = b.wireit / d.large;
        lines.push(
          `wireit no-op @ ${mb(large).padEnd(7)}            ${b.wireit.toFixed(0)} ms (${b.wireitMedian?.toFixed(0)})  npm run, WIREIT_CACHE=none`,
          `speed-up vs wireit                ${ratio.toFixed(1)}× without the daemon, ${daemonRatio.toFixed(1)}× with it (median ${(b.wireitMedian! / median(daemonLarge)).toFixed(1)}×)  (target ≥ 20×: ${daemonRatio >= 20 ? 'met' : 'MISSED'})`,
        );
      }
      if (largeCpu.length) {
        const c = (xs: number[]): string => `${best(xs).toFixed(0)} ms`;
        lines.push(
          `CPU time (user+sys, best): node -e 0 ${c(nodeCpu)}; no-op @ ${mb(small)} ${c(smallCpu)}; @ ${mb(large)} ${c(largeCpu)}` +
            `; daemon-answered @ ${mb(large)} ${c(daemonCpu[1]!)}` +
            (wireitCpu.length ? `; wireit ${c(wireitCpu)} (${(best(wireitCpu) / best(largeCpu)).toFixed(1)}×)` : ''),
        );
      }
      process.stdout.write(lines.join('\n') + '\n');
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  },
};
