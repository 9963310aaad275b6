// AdamW (decoupled weight decay, PyTorch defaults β=(0.9, 0.999), ε=1e-8), a cosine learning-rate
// schedule and global-norm gradient clipping, all over a ParamSet's flat buffers.
import type { ParamSet } from './params.js';

export class AdamW {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private step = 0;

  constructor(
    private readonly params: ParamSet,
    private readonly weightDecay = 0.01,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    this.m = new Float32Array(params.values.length);
    this.v = new Float32Array(params.values.length);
  }

  update(lr: number): void {
    this.step++;
    const { values, grads } = this.params;
    const bc1 = 1 - this.beta1 ** this.step,
      bc2 = 1 - this.beta2 ** this.step;
    for (const e of this.params.entries) {
      if (!e.trainable) continue;
      for (let i = e.offset; i < e.offset + e.size; i++) {
        const g = grads[i]!;
        const m = (this.m[i] = this.beta1 * this.m[i]! + (1 - this.beta1) * g);
        const v = (this.v[i] = this.beta2 * this.v[i]! + (1 - this.beta2) * g * g);
        values[i] = values[i]! * (1 - lr * this.weightDecay) - (lr * (m / bc1)) / (Math.sqrt(v / bc2) + this.eps);
      }
    }
  }
}

/** Cosine annealing from `base` to 0 over `total` steps (PyTorch's CosineAnnealingLR with eta_min 0). */
export function cosineLr(base: number, step: number, total: number): number {
  if (total <= 0) return base;
  return 0.5 * base * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
}

/** Scales all trainable gradients so their global L2 norm is at most `maxNorm`; returns the norm before. */
export function clipGradNorm(params: ParamSet, maxNorm: number): number {
  let sq = 0;
  for (const e of params.entries) {
    if (!e.trainable) continue;
    for (let i = e.offset; i < e.offset + e.size; i++) sq += params.grads[i]! ** 2;
  }
  const norm = Math.sqrt(sq);
  if (norm > maxNorm) {
    const k = maxNorm / (norm + 1e-6);
    for (let i = 0; i < params.grads.length; i++) params.grads[i]! *= k;
  }
  return norm;
}
