// prepare and demo benchmarks, each with its baseline measured in the same run:
//  1. prepare on one video vs the bare ffmpeg proxy command (same arguments, same file): target ≤ 1.05×;
//  2. two videos with -j 2 vs -j 1: target ≤ 0.6× the serial time;
//  3. `demo init` with the default config (6 videos), wall and CPU time: target < 60 s on 2 cores.
// Sources: 720p60 clips of BENCH_PREPARE_SECONDS (default 20) seconds made by the demo generator.
// BENCH_DEMO=0 skips part 3.
import { promises as fs, readFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Progress } from '../src/handler.js';
import type { DatasetContext } from '../stages/lib/dataset/context.js';
import { findFfmpeg, runTool } from '../stages/lib/ffmpeg.js';
import { probeVideo } from '../stages/lib/media/probe.js';
import { writeDatasetFolder } from '../stages/demo/folder.js';
import { generateDemo, type DemoDataset } from '../stages/demo/generate.js';
import { DEFAULT_CONFIG, type DemoConfig } from '../stages/demo/plan.js';
import { prepare } from '../stages/prepare/prepare.js';
import { proxyArgs } from '../stages/prepare/proxy.js';
import type { Bench } from './run.js';

const SECONDS = Number(process.env.BENCH_PREPARE_SECONDS) || 20;

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
  const quiet: Progress = { tick() {}, update() {}, setTotal() {}, done() {} };
  return { root, cacheDir, env: {}, jobs, signal: new AbortController().signal, log: () => undefined, progress: () => quiet };
}

const line = (label: string, value: string, baseline: string, ratio: number, target: string, ok: boolean): void => {
  process.stdout.write(`${label.padEnd(34)} ${value.padStart(10)}  baseline ${baseline.padStart(10)}  ratio ${ratio.toFixed(3)}  target ${target}  ${ok ? 'OK' : 'MISSED'}\n`);
};

async function sources(work: string): Promise<DemoDataset> {
  const config: DemoConfig = {
    ...DEFAULT_CONFIG,
    seed: 5,
    videos: 2,
    minSeconds: SECONDS,
    maxSeconds: SECONDS,
    profiles: [{ width: 1280, height: 720, fps: 60, ext: 'mp4', rotate: false, vfr: false }],
  };
  return generateDemo({ dir: join(work, 'src'), config, jobs: 2 });
}

export const bench: Bench = {
  name: 'prepare',
  async run() {
    const work = await fs.mkdtemp(join(tmpdir(), 'rallycut-bench-prepare-'));
    try {
      process.stdout.write(`cores ${availableParallelism()}, load ${loadavg()[0]!.toFixed(1)}; sources: 2 × ${SECONDS} s of 1280x720 60 fps\n`);
      const demo = await sources(work);
      const one: DemoDataset = { ...demo, videos: demo.videos.slice(0, 1) };
      await writeDatasetFolder(one, join(work, 'src'), join(work, 'one', 'training_datasets', 'demo'), 'demo');
      await writeDatasetFolder(demo, join(work, 'src'), join(work, 'two', 'training_datasets', 'demo'), 'demo');

      // 1. Overhead: alternate bare and prepare runs (fresh proxy cache each time), best of 3 each.
      const src = join(work, 'src', demo.videos[0]!.path);
      const probe = await probeVideo(src);
      const { ffmpeg } = findFfmpeg();
      const bare: number[] = [];
      const wrapped: number[] = [];
      for (let i = 0; i < 3; i++) {
        bare.push(await ms(() => runTool(ffmpeg, proxyArgs(src, probe, join(work, `bare${i}.mp4`)))));
        const root = join(work, 'one');
        wrapped.push(await ms(() => prepare(context(root, join(work, `cache-one-${i}`), 1), { datasetDir: join(root, 'training_datasets', 'demo'), outputDir: join(root, 'training_data'), seed: 42, jobs: 1 })));
      }
      const b = Math.min(...bare);
      const w = Math.min(...wrapped);
      line('prepare 1 video vs bare ffmpeg', `${(w / 1000).toFixed(2)} s`, `${(b / 1000).toFixed(2)} s`, w / b, '≤ 1.05', w / b <= 1.05);

      // 2. Two videos, -j 1 vs -j 2 (fresh caches).
      const root2 = join(work, 'two');
      const run2 = (jobs: number, tag: string): Promise<number> =>
        ms(() => prepare(context(root2, join(work, `cache-two-${tag}`), jobs), { datasetDir: join(root2, 'training_datasets', 'demo'), outputDir: join(root2, 'training_data'), seed: 42, jobs }));
      const serial = Math.min(await run2(1, 's1'), await run2(1, 's2'));
      const parallel = Math.min(await run2(2, 'p1'), await run2(2, 'p2'));
      line('prepare 2 videos -j 2 vs -j 1', `${(parallel / 1000).toFixed(2)} s`, `${(serial / 1000).toFixed(2)} s`, parallel / serial, '≤ 0.6', parallel / serial <= 0.6);
      const cached = await run2(2, 'p1');
      process.stdout.write(`prepare 2 videos again (cache hits)   ${(cached / 1000).toFixed(2)} s\n`);

      // 3. demo init, default config. ffmpeg runs in child processes, so their CPU time is read from
      // /proc (Linux): on a busy machine CPU seconds / 2 is what the same work takes on 2 idle cores.
      if (process.env.BENCH_DEMO !== '0') {
        const cpu0 = childCpuSeconds();
        const t = await ms(() => generateDemo({ dir: join(work, 'demo'), config: DEFAULT_CONFIG, jobs: availableParallelism() }));
        const cpu = childCpuSeconds() - cpu0;
        const videoSeconds = (JSON.parse(await fs.readFile(join(work, 'demo', 'demo.json'), 'utf8')) as DemoDataset).videos.reduce((n, v) => n + v.duration_ms / 1000, 0);
        line(`demo init (${DEFAULT_CONFIG.videos} videos, ${(videoSeconds / 60).toFixed(1)} min)`, `${(t / 1000).toFixed(1)} s`, '60 s', t / 60_000, '< 1', t < 60_000);
        if (cpu > 0) process.stdout.write(`  ffmpeg CPU ${cpu.toFixed(1)} s → ${(cpu / 2).toFixed(1)} s on 2 idle cores\n`);
      }
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  },
};
