// Synthetic videos for tests and benchmarks: rallies and gaps with realistic durations (DESIGN §1),
// and features where rally windows shift a few dimensions by a noisy amount, so that a model has to
// smooth over time to do well. Fully determined by the seed.
import type { RallySpan } from '../lib/contracts.js';
import { Rng } from '../lib/nn/rng.js';
import { windowLabels, type TemporalVideo } from './data.js';

export interface SynthOptions {
  videos: number;
  windows: number;
  dim: number;
  seed: number;
  /** Per-window noise relative to the class signal (1 = as large as the signal). */
  noise?: number;
  fps?: number;
}

export function synthVideos(o: SynthOptions): TemporalVideo[] {
  const rng = new Rng(o.seed);
  const fps = o.fps ?? 30,
    stride = Math.round((48 * fps) / 30);
  const noise = o.noise ?? 1.2;
  const signalDims = Math.min(o.dim, 8);
  const out: TemporalVideo[] = [];
  for (let v = 0; v < o.videos; v++) {
    const totalFrames = (o.windows - 1) * stride + 16;
    const durMs = (totalFrames / fps) * 1000;
    const rallies: RallySpan[] = [];
    let t = 2000 + rng.next() * 10000;
    while (t < durMs - 4000) {
      const len = 5000 + rng.next() * 10000;
      rallies.push({ start_ms: Math.round(t), end_ms: Math.round(Math.min(durMs, t + len)) });
      t += len + 8000 + rng.next() * 20000;
    }
    const labels = windowLabels(o.windows, stride, fps, rallies);
    const x = new Float32Array(o.windows * o.dim);
    for (let i = 0; i < o.windows; i++) {
      for (let d = 0; d < o.dim; d++) {
        const signal = d < signalDims ? (labels[i] ? 1 : -1) * (d % 2 ? 1 : -1) : 0;
        x[i * o.dim + d] = signal + noise * rng.normal();
      }
    }
    out.push({
      video_id: `synth-${String(v).padStart(3, '0')}`,
      filename: `synth_${v}.mp4`,
      fps,
      stride,
      total_frames: totalFrames,
      x,
      dim: o.dim,
      labels,
      rallies,
      source: `synth:${o.seed}:${v}`,
    });
  }
  return out;
}
