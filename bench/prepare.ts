// prepare and demo benchmarks, each with its baseline measured in the same run:
//  1. prepare on one video vs the bare ffmpeg proxy command (same arguments, same file, output on the same
//     filesystem, fresh proxy cache each time): target ≤ 1.05×. Measured on a short clip (fixed costs
//     weigh most) and on a realistic one (real match videos are minutes long);
//  2. two videos with -j 2 vs -j 1: target ≤ 0.6× the serial time; next to it, the same for two bare
//     ffmpeg commands and the bound the CPU time allows (ffmpeg CPU seconds / cores vs the serial wall);
//  3. `demo init` with the default config (6 videos), wall and CPU time: target < 60 s on 2 cores.
// Sources: 1280x720 60 fps clips made by the demo generator, BENCH_PREPARE_SECONDS (default 20) and
// BENCH_PREPARE_LONG_SECONDS (default 120; 0 skips it) long. BENCH_PREPARE_ROUNDS / BENCH_PREPARE_J_ROUNDS set
// the repetitions (5 / 2). BENCH_DEMO=0 skips part 3.
import { execFile } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Progress } from '../src/handler.js';
import type { DatasetContext } from '../stages/lib/dataset/context.js';
import { findFfmpeg, runTool } from '../stages/lib/ffmpeg.js';
import { probeVideo } from '../stages/lib/media/probe.js';
import { writeDatasetFolder } from '../stages/demo/folder.js';
import { generateDemo, type DemoDataset } from '../stages/demo/generate.js';
import { DEFAULT_CONFIG, type DemoConfig } from '../stages/demo/plan.js';
import { prepare } from '../stages/prepare/prepare.js';
import { ffmpegCapabilities } from '../stages/lib/ffmpeg-caps.js';
import { proxyArgs } from '../stages/prepare/proxy.js';
import type { Bench } from './run.js';

const execFileAsync = promisify(execFile);
// bench/prepare.ts under tsx, dist/bench/prepare.js when built: the repository is the first folder up with bin/.
const REPO = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'rallycut')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
const RALLYCUT_BIN = join(REPO, 'bin', 'rallycut');
/** The CLI runs the same code as this bench: the sources when the bench runs under tsx, else dist/. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const SECONDS = Number(process.env.BENCH_PREPARE_SECONDS) || 20;
/** Paired rounds on the short clip (the long one gets 2/5 as many, at least 2); -j rounds. Raise them on a noisy machine. */
const ROUNDS = Number(process.env.BENCH_PREPARE_ROUNDS) || 5;
const J_ROUNDS = Number(process.env.BENCH_PREPARE_J_ROUNDS) || 2;
const LONG_SECONDS = Number(process.env.BENCH_PREPARE_LONG_SECONDS ?? 120);

/** CPU seconds (user + system) of this process's finished children, from /proc; 0 elsewhere. */
function childCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, cutime 16 and cstime 17 (1-based) → indexes 13 and 14 here.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

const ms = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
};

function context(root: string, cacheDir: string, jobs: number): DatasetContext {
  const quiet: Progress = { tick() {}, skip() {}, update() {}, setTotal() {}, done() {} };
  return { root, cacheDir, env: {}, jobs, signal: new AbortController().signal, log: () => undefined, progress: () => quiet };
}

const line = (label: string, value: string, baseline: string, ratio: number, target: string, ok: boolean): void => {
  process.stdout.write(
    `${label.padEnd(34)} ${value.padStart(10)}  baseline ${baseline.padStart(10)}  ratio ${ratio.toFixed(3)}  target ${target}  ${ok ? 'OK' : 'MISSED'}\n`,
  );
};

const PROFILE = { width: 1280, height: 720, fps: 60, ext: 'mp4', rotate: false, vfr: false } as const;

async function sources(dir: string, videos: number, seconds: number): Promise<DemoDataset> {
  const config: DemoConfig = { ...DEFAULT_CONFIG, seed: 5, videos, minSeconds: seconds, maxSeconds: seconds, profiles: [PROFILE] };
  return generateDemo({ dir, config, jobs: 2 });
}

/** Wall ms and the CPU seconds its ffmpeg/ffprobe children used. */
async function measured(fn: () => Promise<unknown>): Promise<{ ms: number; cpu: number }> {
  const cpu0 = childCpuSeconds();
  const t = await ms(fn);
  return { ms: t, cpu: childCpuSeconds() - cpu0 };
}

/** prepare on a one-video dataset vs the bare command on its source, alternating, best of `rounds`. */
async function overhead(work: string, tag: string, rounds: number): Promise<void> {
  const root = join(work, tag);
  const demo = await sources(join(work, `src-${tag}`), 1, tag === 'long' ? LONG_SECONDS : SECONDS);
  await writeDatasetFolder(demo, join(work, `src-${tag}`), join(root, 'training_datasets', 'demo'), 'demo');
  const src = join(work, `src-${tag}`, demo.videos[0]!.path);
  const probe = await probeVideo(src);
  const { ffmpeg } = findFfmpeg();
  const caps = await ffmpegCapabilities();
  const bare: { ms: number; cpu: number }[] = [];
  const wrapped: { ms: number; cpu: number }[] = [];
  const opts = { datasetDir: join(root, 'training_datasets', 'demo'), outputDir: join(root, 'training_data'), seed: 42, jobs: 1 };
  // One unmeasured prepare first: it asks ffmpeg/ffprobe for their versions once per process.
  if (tag === 'short') await prepare(context(root, join(work, `cache-${tag}-warm`), 1), opts);
  for (let i = 0; i < rounds; i++) {
    const runBare = async (): Promise<void> =>
      void bare.push(await measured(() => runTool(ffmpeg, proxyArgs(src, probe, join(work, `bare-${tag}-${i}.mp4`), caps))));
    const runPrepare = async (): Promise<void> => {
      const self0 = process.cpuUsage();
      const run = await measured(() => prepare(context(root, join(work, `cache-${tag}-${i}`), 1), opts));
      const self = process.cpuUsage(self0);
      wrapped.push({ ms: run.ms, cpu: run.cpu + (self.user + self.system) / 1e6 });
    };
    // Alternating which goes first cancels a drift in the machine's speed.
    for (const step of i % 2 ? [runPrepare, runBare] : [runBare, runPrepare]) await step();
  }
  // The whole CLI process as a user runs it (Node start-up and module loading included), short clip only.
  const cli: number[] = [];
  if (tag === 'short') {
    for (let i = 0; i < 3; i++) {
      const env = {
        ...process.env,
        RALLYCUT_CACHE_DIR: join(work, `cache-cli-${i}`),
        RALLYCUT_PROGRESS: '0',
        ...(FROM_SOURCE ? { RALLYCUT_FROM_SOURCE: '1' } : {}),
      };
      cli.push(await ms(() => execFileAsync(process.execPath, [RALLYCUT_BIN, 'train', 'prepare', '-j', '1'], { cwd: root, env })));
    }
  }
  const b = Math.min(...bare.map((x) => x.ms));
  const w = Math.min(...wrapped.map((x) => x.ms));
  // Each round's pair ran back to back, so its ratio is the least disturbed by other load.
  const pairs = wrapped.map((x, i) => x.ms / bare[i]!.ms).sort((x, y) => x - y);
  const median = pairs[Math.floor(pairs.length / 2)]!;
  const cpuB = Math.min(...bare.map((x) => x.cpu));
  const cpuW = Math.min(...wrapped.map((x) => x.cpu));
  line(
    `prepare 1 video (${(probe.duration_ms / 1000).toFixed(0)} s) vs bare ffmpeg`,
    `${(w / 1000).toFixed(2)} s`,
    `${(b / 1000).toFixed(2)} s`,
    w / b,
    '≤ 1.05',
    w / b <= 1.05,
  );
  process.stdout.write(
    `  best-vs-best; median of ${rounds} paired ratios ${median.toFixed(3)}; CPU (ffmpeg, ffprobe, node) ${cpuW.toFixed(2)} s vs bare ${cpuB.toFixed(2)} s\n` +
      `  runs: bare ${bare.map((x) => (x.ms / 1000).toFixed(2)).join(' ')}, prepare ${wrapped.map((x) => (x.ms / 1000).toFixed(2)).join(' ')}\n`,
  );
  if (cli.length) {
    const c = Math.min(...cli);
    const entry = FROM_SOURCE ? 'sources via tsx: start-up not representative, run npm run bench' : 'dist/';
    process.stdout.write(
      `  CLI \`rallycut train prepare\` (${entry}, Node start-up included): ${(c / 1000).toFixed(2)} s = ${(c / b).toFixed(3)}× bare (for information)\n`,
    );
  }
}

export const bench: Bench = {
  name: 'prepare',
  async run() {
    const work = await fs.mkdtemp(join(tmpdir(), 'rallycut-bench-prepare-'));
    try {
      const cores = availableParallelism();
      process.stdout.write(
        `cores ${cores}, load ${loadavg()[0]!.toFixed(1)}; sources: 1280x720 60 fps, ${SECONDS} s${LONG_SECONDS ? ` and ${LONG_SECONDS} s` : ''}\n`,
      );

      // 1. Overhead on a short and on a realistic clip.
      await overhead(work, 'short', ROUNDS);
      if (LONG_SECONDS > 0) await overhead(work, 'long', Math.max(2, Math.round(ROUNDS / 2.5)));

      // 2. Two videos, -j 1 vs -j 2 (fresh caches), and the same for the bare commands.
      const root2 = join(work, 'two');
      const demo = await sources(join(work, 'src-two'), 2, SECONDS);
      await writeDatasetFolder(demo, join(work, 'src-two'), join(root2, 'training_datasets', 'demo'), 'demo');
      const run2 = (jobs: number, tag: string): Promise<{ ms: number; cpu: number }> =>
        measured(() =>
          prepare(context(root2, join(work, `cache-two-${tag}`), jobs), {
            datasetDir: join(root2, 'training_datasets', 'demo'),
            outputDir: join(root2, 'training_data'),
            seed: 42,
            jobs,
          }),
        );
      const { ffmpeg } = findFfmpeg();
      const caps = await ffmpegCapabilities();
      const srcs = demo.videos.map((v) => join(work, 'src-two', v.path));
      const probes = await Promise.all(srcs.map((p) => probeVideo(p)));
      const threads = Math.max(1, Math.floor(cores / 2)); // what prepare -j 2 gives each decoder
      const bareRun = (i: number, tag: string, t?: number): Promise<unknown> =>
        runTool(ffmpeg, proxyArgs(srcs[i]!, probes[i]!, join(work, `bare-two-${tag}-${i}.mp4`), caps, t));
      const bareSerial = (tag: string): Promise<{ ms: number; cpu: number }> =>
        measured(async () => {
          for (let i = 0; i < srcs.length; i++) await bareRun(i, tag);
        });
      const bareParallel = (tag: string): Promise<{ ms: number; cpu: number }> => measured(() => Promise.all(srcs.map((_, i) => bareRun(i, tag, threads))));
      const best = (a: { ms: number; cpu: number }, b: { ms: number; cpu: number }): { ms: number; cpu: number } => (a.ms <= b.ms ? a : b);
      const none = { ms: Infinity, cpu: 0 };
      let [serial, parallel, bs, bp] = [none, none, none, none];
      for (let i = 0; i < J_ROUNDS; i++) {
        const steps = [
          async (): Promise<void> => void (serial = best(serial, await run2(1, `s${i}`))),
          async (): Promise<void> => void (parallel = best(parallel, await run2(2, `p${i}`))),
          async (): Promise<void> => void (bs = best(bs, await bareSerial(`s${i}`))),
          async (): Promise<void> => void (bp = best(bp, await bareParallel(`p${i}`))),
        ];
        for (const step of i % 2 ? steps.reverse() : steps) await step();
      }
      line(
        'prepare 2 videos -j 2 vs -j 1',
        `${(parallel.ms / 1000).toFixed(2)} s`,
        `${(serial.ms / 1000).toFixed(2)} s`,
        parallel.ms / serial.ms,
        '≤ 0.6',
        parallel.ms / serial.ms <= 0.6,
      );
      line('  bare ffmpeg: 2 at once vs in turn', `${(bp.ms / 1000).toFixed(2)} s`, `${(bs.ms / 1000).toFixed(2)} s`, bp.ms / bs.ms, '(hardware)', true);
      if (parallel.cpu > 0) {
        // Two jobs at once cannot finish before their CPU time spread over all cores.
        const bound = parallel.cpu / cores / (serial.ms / 1000);
        process.stdout.write(
          `  CPU: ffmpeg+ffprobe used ${serial.cpu.toFixed(2)} s (-j 1) and ${parallel.cpu.toFixed(2)} s (-j 2) → on ${cores} cores -j 2 cannot beat ` +
            `${(parallel.cpu / cores).toFixed(2)} s = ${bound.toFixed(3)}× the serial wall\n`,
        );
      }
      const cached = await run2(2, 'p0');
      process.stdout.write(`prepare 2 videos again (cache hits)   ${(cached.ms / 1000).toFixed(2)} s\n`);

      // 3. demo init, default config. ffmpeg runs in child processes, so their CPU time is read from
      // /proc (Linux): on a busy machine CPU seconds / 2 is what the same work takes on 2 idle cores.
      if (process.env.BENCH_DEMO !== '0') {
        const cpu0 = childCpuSeconds();
        const t = await ms(() => generateDemo({ dir: join(work, 'demo'), config: DEFAULT_CONFIG, jobs: availableParallelism() }));
        const cpu = childCpuSeconds() - cpu0;
        const videoSeconds = (JSON.parse(await fs.readFile(join(work, 'demo', 'demo.json'), 'utf8')) as DemoDataset).videos.reduce(
          (n, v) => n + v.duration_ms / 1000,
          0,
        );
        line(
          `demo init (${DEFAULT_CONFIG.videos} videos, ${(videoSeconds / 60).toFixed(1)} min)`,
          `${(t / 1000).toFixed(1)} s`,
          '60 s',
          t / 60_000,
          '< 1',
          t < 60_000,
        );
        if (cpu > 0) process.stdout.write(`  ffmpeg CPU ${cpu.toFixed(1)} s → ${(cpu / 2).toFixed(1)} s on 2 idle cores\n`);
      }
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  },
};
