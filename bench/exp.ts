// Experiments and watch mode.
// 1. `exp show` over N recorded experiments (default 200, BENCH_EXPS to change): the whole CLI process
//    (`node bin/rallycut exp show --json`, built dist/ when present) and the in-process command; baseline:
//    a plain loop reading and parsing the same record files. Target: < 1 s.
// 2. Watch mode: time from writing a dep to the rerun starting (onRunStart), with the default 150 ms
//    debounce; baseline: a bare fs.watch on the same file (the OS event latency). BENCH_RUNS (default 5).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import { watchPipeline } from '../src/exec/watch.js';
import { handlerRegistry } from '../stages/index.js';
import type { Bench } from './run.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = existsSync(join(HERE, '..', 'package.json')) ? resolve(HERE, '..') : resolve(HERE, '..', '..');
const BIN = join(REPO, 'bin', 'rallycut');
const EXPS = Number(process.env.BENCH_EXPS ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SHOW_TARGET_MS = 1000;

const best = (xs: number[]): number => Math.min(...xs);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A record shaped like a real one: full params, ~60 evaluate metrics per file, a 7-stage lock, charts. */
function record(i: number): unknown {
  const metrics: Record<string, number> = {};
  for (const set of ['greedy', 'optimal', 'segmental.0.10', 'segmental.0.25', 'segmental.0.50'])
    for (const k of ['tp', 'fp', 'fn', 'precision', 'recall', 'f1']) metrics[`totals.${set}.${k}`] = ((i * 7919 + k.length) % 1000) / 1000;
  const lock = {
    schema: '1.0',
    stages: Object.fromEntries(
      ['export', 'push', 'prepare', 'extract', 'temporal', 'heur', 'evaluate'].map((s) => [
        s,
        {
          cmd: [`run ${s}`],
          deps: [{ path: `d/${s}`, sha256: 'a'.repeat(64), size: 10 }],
          params: {},
          outs: [{ path: `o/${s}`, sha256: 'b'.repeat(64), size: 10 }],
        },
      ]),
    ),
  };
  return {
    name: `exp-${String(i).padStart(4, '0')}`,
    status: 'success',
    baseline: 'c'.repeat(40),
    created: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    overrides: [{ file: 'params/default.yaml', key: 'temporal.lr', value: (i + 1) * 1e-5 }],
    params: {
      'params/default.yaml': { temporal: { lr: (i + 1) * 1e-5, epochs: 50, model: 'v2', patience: 10 }, heuristics: { preset: 'beach', min_gap_seconds: 3 } },
    },
    metrics: {
      'metrics/evaluate.json': metrics,
      'metrics/evaluate-heuristics.json': metrics,
      'metrics/temporal.json': { best_val_f1: i / EXPS, epochs_run: 50 },
    },
    charts: {
      curves: { 'weights/temporal/model.json': Array.from({ length: 50 }, (_, e) => ({ epoch: e + 1, train_loss: 1 / (e + 1), val_f1: e / 50 })) },
      videos: { 'metrics/evaluate.json': Array.from({ length: 20 }, (_, v) => ({ video_id: `v${v}`, precision: 0.8, recall: 0.7, f1: 0.75 })) },
    },
    lock,
  };
}

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rallycut-bench-exp-'));
  writeFileSync(join(dir, 'pipeline.yaml'), `stages:\n  a:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n    params: [temporal]\n`);
  mkdirSync(join(dir, 'params'));
  writeFileSync(join(dir, 'params', 'default.yaml'), 'temporal:\n  lr: 0.0001\n  epochs: 50\n');
  writeFileSync(join(dir, 'in.txt'), 'x\n');
  writeFileSync(join(dir, '.gitignore'), '.cache/\n');
  const git = (...a: string[]) => execFileSync('git', ['-c', 'user.email=b@b', '-c', 'user.name=b', ...a], { cwd: dir, stdio: 'ignore' });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'bench');
  return dir;
}

async function benchShow(): Promise<void> {
  const dir = project();
  const exps = join(dir, '.cache', 'exps');
  mkdirSync(exps, { recursive: true });
  for (let i = 0; i < EXPS; i++) writeFileSync(join(exps, `exp-${String(i).padStart(4, '0')}.json`), JSON.stringify(record(i), null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, RALLYCUT_PROGRESS: '0' };
  delete env.RALLYCUT_CACHE_DIR;
  const proc: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const res = spawnSync(process.execPath, [BIN, 'exp', 'show', '--json'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.push(performance.now() - t0);
    if (res.status !== 0) throw new Error(`exp show failed: ${res.stderr.toString()}`);
    if (r === 0 && (JSON.parse(res.stdout.toString()) as { rows: unknown[] }).rows.length !== EXPS + 2) throw new Error('exp show lost rows');
  }
  const inProc: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await main(['exp', 'show', '--json'], { cwd: dir, env, out: () => undefined, err: () => undefined, isTTY: false, signal: new AbortController().signal });
    inProc.push(performance.now() - t0);
  }
  const version: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    spawnSync(process.execPath, [BIN, '--version'], { cwd: dir, env });
    version.push(performance.now() - t0);
  }
  const loop: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    let n = 0;
    for (const f of readdirSync(exps)) n += Object.keys(JSON.parse(readFileSync(join(exps, f), 'utf8')) as object).length;
    loop.push(performance.now() - t0);
    if (!n) throw new Error('empty');
  }
  const nodeStart: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    nodeStart.push(performance.now() - t0);
  }
  console.log(
    `exp show --json, ${EXPS} experiments (best of ${RUNS}; ${existsSync(join(REPO, 'dist', 'src', 'cli', 'main.js')) && !process.env.RALLYCUT_FROM_SOURCE ? 'built dist/' : 'sources via tsx'}):`,
  );
  console.log(
    `  CLI process       ${best(proc).toFixed(0)} ms (median ${median(proc).toFixed(0)})   target < ${SHOW_TARGET_MS} ms → ${(best(proc) / SHOW_TARGET_MS).toFixed(2)}× of target`,
  );
  console.log(`  in-process        ${best(inProc).toFixed(0)} ms (median ${median(inProc).toFixed(0)})`);
  console.log(
    `  baseline: plain read+parse loop ${best(loop).toFixed(0)} ms; bare node start ${best(nodeStart).toFixed(0)} ms; 'rallycut --version' (CLI start-up alone) ${best(version).toFixed(0)} ms`,
  );
  console.log(`  exp show beyond CLI start-up: ${(best(proc) - best(version)).toFixed(0)} ms`);
  console.log(`  in-process / plain loop = ${(best(inProc) / Math.max(best(loop), 0.01)).toFixed(1)}× (the rest is git HEAD, pipeline load, table building)`);
  rmSync(dir, { recursive: true, force: true });
}

async function benchWatch(): Promise<void> {
  const dir = project();
  const controller = new AbortController();
  const starts: number[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  let runStarted: (() => void) | undefined;
  let runEnded: (() => void) | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, RALLYCUT_PROGRESS: '0' };
  delete env.RALLYCUT_CACHE_DIR;
  const done = watchPipeline(
    dir,
    handlerRegistry,
    { jobs: 1 },
    { env, err: () => undefined, signal: controller.signal },
    {
      onReady: () => ready(),
      onRunStart: () => runStarted?.(),
      onRunEnd: () => runEnded?.(),
    },
  );
  await isReady;
  for (let r = 0; r < RUNS; r++) {
    await sleep(300);
    const started = new Promise<void>((res) => (runStarted = res));
    const ended = new Promise<void>((res) => (runEnded = res));
    const t0 = performance.now();
    writeFileSync(join(dir, 'in.txt'), `v${r}\n`);
    await started;
    starts.push(performance.now() - t0);
    await ended; // the next save lands on an idle watcher, not on a queued rerun
  }
  controller.abort();
  await done;
  const raw: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const w = watch(join(dir, 'in.txt'));
    const got = new Promise<void>((res) => w.once('change', () => res()));
    const t0 = performance.now();
    writeFileSync(join(dir, 'in.txt'), `raw${r}\n`);
    await got;
    raw.push(performance.now() - t0);
    w.close();
  }
  console.log(`watch: saved dep → rerun starting (debounce 150 ms, best of ${RUNS}): ${best(starts).toFixed(0)} ms (median ${median(starts).toFixed(0)})`);
  console.log(`  baseline: bare fs.watch event ${best(raw).toFixed(1)} ms; overhead beyond the debounce ${(best(starts) - 150).toFixed(0)} ms`);
  rmSync(dir, { recursive: true, force: true });
}

export const bench: Bench = {
  name: 'exp',
  async run() {
    await benchShow();
    await benchWatch();
  },
};
