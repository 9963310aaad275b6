// All parameters of a model in one flat Float32Array (and one for gradients), so the optimizer, the
// gradient clip and the checkpoint each touch a single buffer. Entries keep their declaration order,
// which fixes the checkpoint layout.
import type { Rng } from './rng.js';
import { Tensor } from './tensor.js';

export type Init = (rng: Rng, size: number, shape: readonly number[]) => ArrayLike<number>;

export interface ParamEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** Buffers (BatchNorm running statistics) are saved but never optimised. */
  trainable: boolean;
}

export class ParamSet {
  readonly values: Float32Array;
  readonly grads: Float32Array;
  private readonly tensors = new Map<string, Tensor>();

  constructor(
    readonly entries: readonly ParamEntry[],
    values?: Float32Array,
  ) {
    const total = entries.reduce((s, e) => s + e.size, 0);
    this.values = values ?? new Float32Array(total);
    if (this.values.length !== total) throw new Error(`parameter buffer has ${this.values.length} values, the layout needs ${total}`);
    this.grads = new Float32Array(total);
    for (const e of entries) {
      const data = this.values.subarray(e.offset, e.offset + e.size);
      const grad = this.grads.subarray(e.offset, e.offset + e.size);
      this.tensors.set(e.name, new Tensor(data, e.shape, e.trainable, e.trainable ? grad : null));
    }
  }

  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`no parameter '${name}'`);
    return t;
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  get trainableCount(): number {
    return this.entries.filter((e) => e.trainable).reduce((s, e) => s + e.size, 0);
  }
}

/** Declares parameters in order, then allocates and initialises them from one seeded stream. */
export class ParamBuilder {
  private readonly specs: Array<{ entry: ParamEntry; init: Init }> = [];
  private offset = 0;

  add(name: string, shape: number[], init: Init, trainable = true): this {
    const size = shape.reduce((a, b) => a * b, 1);
    this.specs.push({ entry: { name, shape, offset: this.offset, size, trainable }, init });
    this.offset += size;
    return this;
  }

  build(rng: Rng): ParamSet {
    const set = new ParamSet(this.specs.map((s) => s.entry));
    for (const { entry, init } of this.specs) set.values.set(init(rng, entry.size, entry.shape), entry.offset);
    return set;
  }

  /** The layout only, for loading saved weights. */
  layout(): ParamEntry[] {
    return this.specs.map((s) => s.entry);
  }
}

export const init = {
  zeros: (): Init => (_r, n) => new Float32Array(n),
  const:
    (v: number): Init =>
    (_r, n) =>
      new Float32Array(n).fill(v),
  /** PyTorch's default for Linear/Conv: U(−1/√fanIn, 1/√fanIn). */
  uniformFanIn:
    (fanIn: number): Init =>
    (r, n) => {
      const bound = 1 / Math.sqrt(fanIn);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = (r.next() * 2 - 1) * bound;
      return out;
    },
  normal:
    (std: number): Init =>
    (r, n) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = r.normal() * std;
      return out;
    },
};
