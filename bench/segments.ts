// Heuristics on 100,000 windows (issue 10: "well under a second"), against a plain argmax pass over the
// same windows measured in the same run. SEGMENTS_BENCH_WINDOWS changes the size.
import type { Bench } from './run.js';
import type { VideoWindows } from '../stages/lib/contracts.js';
import { detectSegments, presetFor } from '../stages/lib/heuristics/index.js';

/** Rally-like windows: sticky states (runs of a few to tens of windows), noisy probabilities, seeded. */
function syntheticWindows(n: number, fps: number): VideoWindows {
  let seed = 42;
  const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
  const stride = Math.round((48 * fps) / 30);
  const windows: VideoWindows['windows'] = [];
  let active = false;
  for (let i = 0; i < n; i++) {
    if (rnd() < (active ? 0.08 : 0.06)) active = !active;
    const noise = rnd() * 0.5;
    const pActive = active ? 0.9 - noise : 0.1 + noise;
    const service = rnd() < 0.15 ? pActive * 0.7 : pActive * 0.2;
    windows.push({ start_frame: i * stride, end_frame: i * stride + 15, probs: { no_play: 1 - pActive, play: pActive - service, service } });
  }
  return { fps, stride, base_stride: 48, total_frames: n * stride + 16, windows };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(fn: () => void, reps: number): number {
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ms);
}

export const bench: Bench = {
  name: 'segments',
  async run() {
    const n = Number(process.env.SEGMENTS_BENCH_WINDOWS ?? 100_000);
    const input = syntheticWindows(n, 59.94);
    const params = presetFor('indoor');
    let segments = 0;
    let suggested = 0;
    detectSegments(input, params); // warm-up (JIT)
    const heuristicsMs = time(() => {
      const r = detectSegments(input, params);
      segments = r.segments.length;
      suggested = r.suggested.length;
    }, 7);
    let activeCount = 0;
    const baselineMs = time(() => {
      // baseline: one argmax pass over the same window objects
      activeCount = 0;
      for (const w of input.windows) {
        const p = w.probs;
        if (p.play > p.no_play || p.service > p.no_play) activeCount++;
      }
    }, 7);
    const targetMs = 1000;
    process.stdout.write(
      `windows: ${n} at 59.94 fps → ${segments} segments, ${suggested} suggested (${activeCount} active windows)\n` +
        `heuristics (detectSegments): ${heuristicsMs.toFixed(2)} ms (median of 7)\n` +
        `baseline (plain argmax loop): ${baselineMs.toFixed(2)} ms → heuristics cost ${(heuristicsMs / baselineMs).toFixed(1)}× one pass\n` +
        `target < ${targetMs} ms: ${(heuristicsMs / targetMs).toFixed(4)} of the budget (${heuristicsMs < targetMs ? 'met' : 'MISSED'})\n`,
    );
  },
};
