// Finite-difference gradient checking for the tests: compares each op's backward pass with central
// differences of a random projection of its output.
import { Rng } from './rng.js';
import { Tape, Tensor } from './tensor.js';

export function randomTensor(rng: Rng, shape: number[], scale = 1, requiresGrad = true): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * scale;
  return new Tensor(data, shape, requiresGrad);
}

/**
 * `build` runs the op(s) on a tape and returns either an output tensor (the loss becomes Σ out·R for a
 * fixed random R) or a scalar loss whose gradient the op seeded itself. Returns the worst relative
 * error over the checked inputs.
 */
export function gradCheck(
  inputs: Tensor[],
  build: (tape: Tape | null) => Tensor | number,
  opts: { eps?: number; samples?: number; seed?: number } = {},
): number {
  const eps = opts.eps ?? 1e-2;
  const rng = new Rng(opts.seed ?? 7);
  let proj: Float64Array | null = null;
  const lossOf = (tape: Tape | null): number => {
    const out = build(tape);
    if (typeof out === 'number') return out;
    if (!proj) {
      proj = new Float64Array(out.data.length);
      for (let i = 0; i < proj.length; i++) proj[i] = rng.normal();
    }
    let s = 0;
    for (let i = 0; i < out.data.length; i++) s += out.data[i]! * proj[i]!;
    if (tape) {
      const g = out.g();
      for (let i = 0; i < g.length; i++) g[i] = proj[i]!;
    }
    return s;
  };
  for (const t of inputs) t.grad?.fill(0);
  const tape = new Tape();
  lossOf(tape);
  tape.backward();
  let worst = 0;
  for (const t of inputs) {
    const analytic = Float32Array.from(t.grad ?? new Float32Array(t.data.length));
    const n = t.data.length;
    const count = Math.min(n, opts.samples ?? 12);
    for (let s = 0; s < count; s++) {
      const i = count === n ? s : rng.int(n);
      const orig = t.data[i]!;
      t.data[i] = orig + eps;
      const up = lossOf(null);
      t.data[i] = orig - eps;
      const down = lossOf(null);
      t.data[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const err = Math.abs(numeric - analytic[i]!) / Math.max(1e-2, Math.abs(numeric) + Math.abs(analytic[i]!));
      worst = Math.max(worst, err);
    }
  }
  return worst;
}
