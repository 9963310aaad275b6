// A VideoMAE-shaped video ViT as an ONNX graph with generated (random, untrained) weights, in our model
// contract (pixel_values [B,16,3,224,224] → logits [B,3], features [B,hidden]). It exists to measure what
// real VideoMAE inference costs on a machine (bench/videomae.ts) without any download: the same operators
// and shapes as HF VideoMAE-base exported by torch.onnx.export, not its weights. Never committed as a file.
//
// Layout (VideoMAE-base): tubelet embedding Conv3d 3→768, kernel = stride = 2×16×16 (16×224×224 → 8×14×14 =
// 1568 tokens), a fixed position table, 12 pre-norm blocks (LayerNorm → multi-head attention, 12 heads →
// residual; LayerNorm → MLP 768→3072→768 with exact GELU → residual), mean pooling, fc_norm, a linear head.
import { GraphBuilder } from './onnx-graph.js';

export interface VitConfig {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly mlp: number;
  /** Frames per window and input side (the contract's 16 and 224). */
  readonly frames: number;
  readonly size: number;
  readonly tubelet: number;
  readonly patch: number;
  readonly classes: number;
}

export const VIDEOMAE_BASE: VitConfig = { layers: 12, hidden: 768, heads: 12, mlp: 3072, frames: 16, size: 224, tubelet: 2, patch: 16, classes: 3 };

export function tokens(c: VitConfig): number {
  return (c.frames / c.tubelet) * (c.size / c.patch) ** 2;
}

/** Multiply-adds per window (the figure papers quote as "FLOPs": ~180 G for VideoMAE-base); ×2 for FLOPs. */
export function vitMacs(c: VitConfig): number {
  const n = tokens(c);
  const d = c.hidden;
  const embed = n * d * 3 * c.tubelet * c.patch * c.patch;
  const block = n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * c.mlp;
  return embed + c.layers * block + d * c.classes;
}

export function vitParameters(c: VitConfig): number {
  const d = c.hidden;
  const embed = 3 * c.tubelet * c.patch * c.patch * d + d;
  const block = 4 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * c.mlp + c.mlp) + (c.mlp * d + d);
  return embed + c.layers * block + 2 * d + d * c.classes + c.classes;
}

/** Deterministic normal-ish weights (sum of uniforms), scaled like a trained ViT's (std 0.02). */
function weights(count: number, seed: { s: number }, scale = 0.02): Float32Array {
  const out = new Float32Array(count);
  let s = seed.s;
  for (let i = 0; i < count; i++) {
    let acc = 0;
    for (let k = 0; k < 3; k++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      acc += (s >>> 0) / 4294967296 - 0.5;
    }
    out[i] = acc * 2 * scale;
  }
  seed.s = s;
  return out;
}

const filled = (count: number, value: number): Float32Array => new Float32Array(count).fill(value);

/** The ONNX bytes (about 4 × parameters bytes: ~350 MB for VideoMAE-base). Same config and seed → same bytes. */
export function buildVitOnnx(c: VitConfig = VIDEOMAE_BASE, seedValue = 0x5eed): Uint8Array {
  const g = new GraphBuilder();
  const seed = { s: seedValue | 1 };
  const d = c.hidden;
  const n = tokens(c);
  const headDim = d / c.heads;
  const x = g.input('pixel_values', ['batch', c.frames, 3, c.size, c.size]);
  // [B,T,C,H,W] → [B,C,T,H,W] → Conv3d → [B,d,T',H',W'] → [B,d,n] → [B,n,d]
  const cthw = g.op('Transpose', [x], { perm: [0, 2, 1, 3, 4] });
  const kernel = [c.tubelet, c.patch, c.patch];
  const conv = g.op(
    'Conv',
    [cthw, g.floatConst(weights(d * 3 * c.tubelet * c.patch * c.patch, seed), [d, 3, ...kernel]), g.floatConst(weights(d, seed), [d])],
    { kernel_shape: kernel, strides: kernel },
  );
  const flat = g.op('Reshape', [conv, g.intConst([0, d, n])]);
  const positions = new Float32Array(n * d);
  for (let p = 0; p < n; p++) for (let i = 0; i < d; i++) positions[p * d + i] = (i % 2 ? Math.cos : Math.sin)(p / 10000 ** ((2 * Math.floor(i / 2)) / d));
  let h = g.op('Add', [g.op('Transpose', [flat], { perm: [0, 2, 1] }), g.floatConst(positions, [1, n, d])]);

  const norm = (input: string): string =>
    g.op('LayerNormalization', [input, g.floatConst(filled(d, 1), [d]), g.floatConst(filled(d, 0), [d])], { axis: -1, epsilon: { float: 1e-6 } });
  const linear = (input: string, inDim: number, outDim: number): string =>
    g.op('Add', [g.op('MatMul', [input, g.floatConst(weights(inDim * outDim, seed), [inDim, outDim])]), g.floatConst(weights(outDim, seed), [outDim])]);
  const scale = g.floatConst([1 / Math.sqrt(headDim)], []);
  const half = g.floatConst([0.5], []);
  const one = g.floatConst([1], []);
  const invSqrt2 = g.floatConst([Math.SQRT1_2], []);

  for (let l = 0; l < c.layers; l++) {
    // Attention: qkv [B,n,3d] → [B,n,3,heads,hd] → [3,B,heads,n,hd]
    const qkv = g.op('Reshape', [linear(norm(h), d, 3 * d), g.intConst([0, n, 3, c.heads, headDim])]);
    const split = g.op('Transpose', [qkv], { perm: [2, 0, 3, 1, 4] });
    const part = (i: number): string => g.op('Squeeze', [g.op('Slice', [split, g.intConst([i]), g.intConst([i + 1]), g.intConst([0])]), g.intConst([0])]);
    const [q, k, v] = [part(0), part(1), part(2)];
    const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale]);
    const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 2, 1, 3] }), g.intConst([0, n, d])]);
    h = g.op('Add', [h, linear(merged, d, d)]);
    // MLP with exact GELU: 0.5·x·(1 + erf(x/√2))
    const up = linear(norm(h), d, c.mlp);
    const gelu = g.op('Mul', [g.op('Mul', [up, half]), g.op('Add', [g.op('Erf', [g.op('Mul', [up, invSqrt2])]), one])]);
    h = g.op('Add', [h, linear(gelu, c.mlp, d)]);
  }
  const pooled = g.op('ReduceMean', [h], { axes: [1], keepdims: 0 });
  const features = g.op(
    'LayerNormalization',
    [pooled, g.floatConst(filled(d, 1), [d]), g.floatConst(filled(d, 0), [d])],
    { axis: -1, epsilon: { float: 1e-6 } },
    'features',
  );
  g.op(
    'Add',
    [g.op('MatMul', [features, g.floatConst(weights(d * c.classes, seed), [d, c.classes])]), g.floatConst(filled(c.classes, 0), [c.classes])],
    {},
    'logits',
  );
  g.output('logits', ['batch', c.classes]);
  g.output('features', ['batch', d]);
  return g.encode('videomae_shaped_vit', `VideoMAE-shaped ViT with generated weights (${c.layers} layers, hidden ${d}); for measuring, not a classifier`);
}
