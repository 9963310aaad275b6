import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stableJson } from '../../../src/handler.js';
import { BASELINE_FEATURE_DIM, BASELINE_FIT, buildBaselineOnnx } from './baseline.js';
import { writeBaseline } from './build.js';
import { GraphBuilder } from './onnx-graph.js';
import { IMAGENET_MEAN, IMAGENET_STD, locateModel, videoMaeSpec } from './registry.js';
import { loadClassifier, softmaxRows } from './session.js';

const WINDOW = 16 * 3 * 224 * 224;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-model-'));
});

/** logits = channel means of pixel_values · W + b; features = the channel means. */
function knownModel(W: number[][], b: number[], inputShape: (number | string)[] = ['batch', 16, 3, 224, 224]): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('pixel_values', inputShape);
  const means = g.op('ReduceMean', [x], { axes: inputShape.length === 5 ? [1, 3, 4] : [2, 3], keepdims: 0 }, 'features');
  g.op('Add', [g.op('MatMul', [means, g.floatConst(W.flat(), [3, 3])]), g.floatConst(b, [3])], {}, 'logits');
  g.output('logits', ['batch', 3]);
  g.output('features', ['batch', 3]);
  return g.encode('known', 'test model');
}

async function writeModel(name: string, onnx: Uint8Array, featureDim = 3): Promise<string> {
  const d = join(dir, name);
  await fs.mkdir(d, { recursive: true });
  await fs.writeFile(join(d, 'model.onnx'), onnx);
  await fs.writeFile(join(d, 'model.json'), stableJson({ ...videoMaeSpec(featureDim), name }));
  return d;
}

export const KNOWN_W = [
  [1, 0, 2],
  [0, 1, -1],
  [0.5, 0, 0],
];
export const KNOWN_B = [0.1, -0.2, 0.3];

describe('baseline model', () => {
  it('builds byte-identical ONNX every time, matching the committed default weights', async () => {
    const a = buildBaselineOnnx();
    const b = buildBaselineOnnx();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const out = await writeBaseline(join(dir, 'bl'));
    for (const variant of ['indoor', 'beach']) {
      const committed = join(__dirname, '../../../weights/videomae', variant);
      expect(
        (await fs.readFile(join(committed, 'model.onnx'))).equals(await fs.readFile(out.onnx)),
        `${variant}/model.onnx is stale: run rallycut model build-baseline`,
      ).toBe(true);
      expect(await fs.readFile(join(committed, 'model.json'), 'utf8')).toBe(await fs.readFile(out.json, 'utf8'));
    }
  });

  it('fit-baseline --write bakes constants that print back to the same source (so rebuilds stay identical)', async () => {
    const { replaceFitBlock } = await import('../../model/index.js');
    const source = await fs.readFile(join(__dirname, 'baseline.ts'), 'utf8');
    expect(replaceFitBlock(source, BASELINE_FIT)).toBe(source);
    const changed = replaceFitBlock(source, { ...BASELINE_FIT, bias: [1, 2, 3] });
    expect(changed).toContain('  bias: [1, 2, 3],\n};');
  });

  it('loads with the VideoMAE contract and gives probabilities and features', async () => {
    const c = await loadClassifier(locateModel(dir, './bl'));
    try {
      expect(c.spec.kind).toBe('baseline');
      expect(c.featureDim).toBe(BASELINE_FEATURE_DIM);
      const batch = new Float32Array(2 * WINDOW);
      for (let i = 0; i < batch.length; i++) batch[i] = ((i * 7919) % 255) / 128 - 1;
      const out = await c.run(batch, 2);
      expect(out.logits.length).toBe(6);
      expect(out.features!.length).toBe(2 * BASELINE_FEATURE_DIM);
      const p = softmaxRows(out.logits);
      expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 5);
    } finally {
      await c.release();
    }
  });
});

describe('loader', () => {
  it('runs a hand-built ONNX of known weights to the expected numbers, in a worker and in-process', async () => {
    const d = await writeModel('known', knownModel(KNOWN_W, KNOWN_B));
    const m = [0.25, -1, 2]; // per-channel constant input values
    for (const worker of [true, false]) {
      const c = await loadClassifier(locateModel(dir, d), { worker });
      const batch = new Float32Array(3 * WINDOW);
      for (let w = 0; w < 3; w++)
        for (let f = 0; f < 16; f++)
          for (let ch = 0; ch < 3; ch++) batch.fill(m[ch]! * (w + 1), w * WINDOW + (f * 3 + ch) * 50176, w * WINDOW + (f * 3 + ch + 1) * 50176);
      const out = await c.run(batch, 3);
      for (let w = 0; w < 3; w++) {
        const x = m.map((v) => v * (w + 1));
        for (let k = 0; k < 3; k++) {
          const expected = KNOWN_B[k]! + x.reduce((s, v, j) => s + v * KNOWN_W[j]![k]!, 0);
          expect(out.logits[w * 3 + k]).toBeCloseTo(expected, 4);
        }
        expect(Array.from(out.features!.subarray(w * 3, w * 3 + 3))).toEqual(x.map((v) => expect.closeTo(v, 5)));
      }
      await c.release();
    }
  });

  it('rejects a model whose input is not [B,16,3,224,224], naming the file and the expected shape', async () => {
    const d = await writeModel('image-model', knownModel(KNOWN_W, KNOWN_B, ['batch', 3, 224, 224]));
    await expect(loadClassifier(locateModel(dir, d))).rejects.toThrow(
      `${join(d, 'model.onnx')}: input 'pixel_values' is float32 [batch,3,224,224], expected float32 [B,16,3,224,224]`,
    );
  });

  it('explains a missing or malformed model.json', async () => {
    await expect(loadClassifier(locateModel(dir, './nowhere'))).rejects.toThrow(/model description not found: .*nowhere\/model\.json/);
    const d = await writeModel('badjson', knownModel(KNOWN_W, KNOWN_B));
    await fs.writeFile(join(d, 'model.json'), JSON.stringify({ ...videoMaeSpec(3), mean: [0.5, 0.5] }));
    await expect(loadClassifier(locateModel(dir, d))).rejects.toThrow(/model\.json: 'mean' must be three numbers/);
  });

  it('uses ImageNet normalisation constants', () => {
    expect(IMAGENET_MEAN).toEqual([0.485, 0.456, 0.406]);
    expect(IMAGENET_STD).toEqual([0.229, 0.224, 0.225]);
  });
});
