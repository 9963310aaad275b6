// ONNX export of a trained temporal model: feature normalisation + v1's smoothing network (output: the
// rally logit per window) or v2/v3's emission network (output: [T, 2] CRF emissions). The CRF's
// Viterbi/marginals stay in TypeScript. Built with the project's deterministic GraphBuilder (IR 8,
// opset 17), so the same checkpoint always exports the same bytes.
import { GraphBuilder, onnxSchema } from '../lib/model/onnx-graph.js';
import type { ParamSet } from '../lib/nn/params.js';
import { lstmPrefix } from './models.js';
import type { ModelCore } from './predict.js';

export const ONNX_FILE = 'model.onnx';
export const ONNX_INPUT = 'features';

const T = 'windows';

function w(params: ParamSet, name: string): number[] {
  return Array.from(params.get(name).data);
}

/** Our Linear weights are [O, I]; MatMul wants [I, O]. */
function transposed(params: ParamSet, name: string): { values: number[]; dims: [number, number] } {
  const t = params.get(name);
  const O = t.rows,
    I = t.cols;
  const values = new Array<number>(O * I);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) values[i * O + o] = t.data[o * I + i]!;
  return { values, dims: [I, O] };
}

function linear(g: GraphBuilder, params: ParamSet, x: string, prefix: string, out?: string): string {
  const W = transposed(params, `${prefix}.weight`);
  const mm = g.op('MatMul', [x, g.floatConst(W.values, W.dims)]);
  return g.op('Add', [mm, g.floatConst(w(params, `${prefix}.bias`), [W.dims[1]])], {}, out);
}

/** [T, C] → [1, C, T] for Conv, and back. */
const toNCL = (g: GraphBuilder, x: string, C: number): string => g.op('Transpose', [g.op('Reshape', [x, g.intConst([1, -1, C])])], { perm: [0, 2, 1] });
const fromNCL = (g: GraphBuilder, x: string, C: number): string => g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1] }), g.intConst([-1, C])]);

/** Our Conv1d weight is [O, k, I]; ONNX Conv wants [O, I, k]. */
function convWeight(params: ParamSet, name: string): { values: number[]; dims: number[] } {
  const t = params.get(name);
  const [O, k, I] = t.shape as [number, number, number];
  const values = new Array<number>(O * I * k);
  for (let o = 0; o < O; o++) for (let j = 0; j < k; j++) for (let i = 0; i < I; i++) values[(o * I + i) * k + j] = t.data[(o * k + j) * I + i]!;
  return { values, dims: [O, I, k] };
}

/** Our LSTM gates are ordered i, f, g, o; ONNX's are i, o, f, c. */
function onnxGates(data: Float32Array, H: number, cols: number): number[] {
  const out: number[] = [];
  for (const block of [0, 3, 1, 2]) out.push(...Array.from(data.subarray(block * H * cols, (block + 1) * H * cols)));
  return out;
}

export function exportOnnx(model: ModelCore): Uint8Array {
  const { arch, params, norm } = model;
  const g = new GraphBuilder();
  const D = arch.featureDim,
    H = arch.hiddenDim,
    k = arch.kernel,
    pad = (k - 1) >> 1;
  const input = g.input(ONNX_INPUT, [T, D]);
  const x = g.op('Div', [g.op('Sub', [input, g.floatConst(Array.from(norm.mean), [D])]), g.floatConst(Array.from(norm.std), [D])]);
  if (arch.version === 'v1') {
    const s = toNCL(g, linear(g, params, x, 'proj'), 2);
    const smooth = g.op('Conv', [s, g.floatConst(w(params, 'smooth.weight'), [2, 1, k]), g.floatConst(w(params, 'smooth.bias'), [2])], {
      group: 2,
      kernel_shape: [k],
      pads: [pad, pad],
    });
    const diff = g.op('MatMul', [fromNCL(g, smooth, 2), g.floatConst([-1, 1], [2, 1])]);
    g.op('Reshape', [diff, g.intConst([-1])], {}, 'rally_logit');
    g.output('rally_logit', [T]);
    return g.encode('rallycut_temporal_v1', 'RallyCut temporal v1 (LearnedSmoothing): normalised features -> rally logit per window');
  }
  let h = linear(g, params, x, 'proj');
  h = g.op('LayerNormalization', [h, g.floatConst(w(params, 'ln.weight'), [H]), g.floatConst(w(params, 'ln.bias'), [H])], {
    axis: -1,
    epsilon: { float: 1e-5 },
  });
  if (arch.version === 'v2') {
    let c = toNCL(g, h, H);
    for (let l = 0; l < arch.convLayers; l++) {
      const cw = convWeight(params, `conv${l}.weight`);
      c = g.op('Conv', [c, g.floatConst(cw.values, cw.dims), g.floatConst(w(params, `conv${l}.bias`), [H])], { kernel_shape: [k], pads: [pad, pad] });
      const bn = [`bn${l}.weight`, `bn${l}.bias`, `bn${l}.running_mean`, `bn${l}.running_var`].map((n) => g.floatConst(w(params, n), [H]));
      c = g.op('Relu', [g.op('BatchNormalization', [c, ...bn], { epsilon: { float: 1e-5 } })]);
    }
    h = fromNCL(g, c, H);
  } else {
    const L = arch.lstmHidden;
    for (let l = 0; l < arch.lstmLayers; l++) {
      const I = l === 0 ? H : 2 * L;
      const stack = (suffix: string, cols: number): number[] => [
        ...onnxGates(params.get(`${lstmPrefix(l, 'fwd')}.${suffix}`).data, L, cols),
        ...onnxGates(params.get(`${lstmPrefix(l, 'bwd')}.${suffix}`).data, L, cols),
      ];
      const W = g.floatConst(stack('wih', I), [2, 4 * L, I]);
      const R = g.floatConst(stack('whh', L), [2, 4 * L, L]);
      const zeros = new Array<number>(4 * L).fill(0);
      const bias = [
        ...onnxGates(params.get(`${lstmPrefix(l, 'fwd')}.bias`).data, L, 1),
        ...zeros,
        ...onnxGates(params.get(`${lstmPrefix(l, 'bwd')}.bias`).data, L, 1),
        ...zeros,
      ];
      const seq = g.op('Reshape', [h, g.intConst([-1, 1, I])]); // [T, batch 1, I]
      const y = g.op('LSTM', [seq, W, R, g.floatConst(bias, [2, 8 * L])], { hidden_size: L });
      // Y is [T, 2, 1, L]: forward states then backward states, like our [T, 2L] rows.
      h = g.op('Reshape', [y, g.intConst([-1, 2 * L])]);
    }
  }
  linear(g, params, h, 'head', 'emissions');
  g.output('emissions', [T, 2]);
  const bytes = g.encode(
    `rallycut_temporal_${arch.version}`,
    `RallyCut temporal ${arch.version}: normalised features -> CRF emissions [T, 2] (decode with the checkpoint's CRF)`,
  );
  return arch.version === 'v3' ? withBidirectionalLstm(bytes) : bytes;
}

/** The shared GraphBuilder has no string attributes; LSTM's direction="bidirectional" is added here. */
function withBidirectionalLstm(bytes: Uint8Array): Uint8Array {
  const onnx = onnxSchema();
  const model = onnx.ModelProto.decode(bytes);
  for (const node of model.graph?.node ?? []) {
    if (node.opType !== 'LSTM') continue;
    node.attribute = [
      ...(node.attribute ?? []),
      onnx.AttributeProto.create({ name: 'direction', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('bidirectional') }),
    ];
    node.attribute.sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : 1));
  }
  return onnx.ModelProto.encode(model).finish();
}

/** Runs an exported model with onnxruntime-node on raw feature rows [N, D]. */
export async function runOnnx(bytes: Uint8Array, x: Float32Array, dim: number): Promise<Float32Array> {
  const ort = await import('onnxruntime-node'); // loaded only when a model actually runs
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', x, [x.length / dim, dim]) });
    const out = result[session.outputNames[0]!]!;
    return out.data as Float32Array;
  } finally {
    await session.release();
  }
}
