// A small, deterministic ONNX graph builder on top of onnx-proto (IR 8, opset 17, weights in rawData).
// The same object graph always encodes to the same bytes, so generated models are reproducible.
import { createRequire } from 'node:module';
import type onnxProto from 'onnx-proto';

// Required on first use (it is CommonJS), so loading a stage module does not load protobufjs.
let onnxNs: typeof onnxProto.onnx | undefined;
export function onnxSchema(): typeof onnxProto.onnx {
  onnxNs ??= (createRequire(import.meta.url)('onnx-proto') as typeof onnxProto).onnx;
  return onnxNs;
}
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;

export const OPSET = 17;
export const IR_VERSION = 8;

export type Dim = number | string;
export type AttrValue = number | number[] | { float: number } | { floats: number[] };

function littleEndian(bytes: ArrayBufferView): Uint8Array {
  return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function valueInfo(name: string, elemType: number, shape: readonly Dim[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttrValue): IAttributeProto {
  const T = onnxSchema().AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.FLOATS, floats: value.floats };
}

/** Collects nodes and initializers; names are generated in call order, so builds are stable. */
export class GraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly initializers: ITensorProto[] = [];
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private counter = 0;

  input(name: string, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, onnxSchema().TensorProto.DataType.FLOAT, shape));
    return name;
  }

  output(name: string, shape: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, onnxSchema().TensorProto.DataType.FLOAT, shape));
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Weights as a number list or, for big tensors (a ViT's 2.4M-float matrices), a Float32Array. */
  floatConst(values: readonly number[] | Float32Array, dims: readonly number[], name?: string): string {
    const n = name ?? this.fresh('w');
    this.initializers.push({
      name: n,
      dataType: onnxSchema().TensorProto.DataType.FLOAT,
      dims: [...dims],
      rawData: littleEndian(values instanceof Float32Array ? values : new Float32Array(values)),
    });
    return n;
  }

  intConst(values: readonly number[], name?: string): string {
    const n = name ?? this.fresh('i');
    this.initializers.push({
      name: n,
      dataType: onnxSchema().TensorProto.DataType.INT64,
      dims: [values.length],
      rawData: littleEndian(new BigInt64Array(values.map((v) => BigInt(v)))),
    });
    return n;
  }

  /** Adds a node; returns its (first) output name, or `out` when given (for graph outputs). */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    const output = out ?? this.fresh(opType.toLowerCase());
    this.nodes.push({
      opType,
      name: this.fresh(`n_${opType}`),
      input: [...inputs],
      output: [output],
      attribute: Object.keys(attrs)
        .sort()
        .map((k) => attribute(k, attrs[k]!)),
    });
    return output;
  }

  encode(graphName: string, docString: string, producer = 'rallycut'): Uint8Array {
    const model = onnxSchema().ModelProto.create({
      irVersion: IR_VERSION,
      producerName: producer,
      producerVersion: '1',
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnxSchema().ModelProto.encode(model).finish();
  }
}
