// The VideoMAE-shaped graph behind bench/videomae.ts: a small one through the real loader (contract
// signature, outputs per window), and the cost model the benchmark divides by.
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stableJson } from '../../../src/handler.js';
import { locateModel, videoMaeSpec } from './registry.js';
import { loadClassifier } from './session.js';
import { buildVitOnnx, tokens, VIDEOMAE_BASE, vitMacs, vitParameters, type VitConfig } from './vit.js';

const SMALL: VitConfig = { ...VIDEOMAE_BASE, layers: 2, hidden: 32, heads: 4, mlp: 64 };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe('VideoMAE-shaped ViT graph', () => {
  it('VideoMAE-base: 1568 tokens, ~180 G multiply-adds and ~86 M parameters per the published figures', () => {
    expect(tokens(VIDEOMAE_BASE)).toBe(1568);
    expect(vitMacs(VIDEOMAE_BASE) / 1e9).toBeCloseTo(180.3, 0);
    expect(vitParameters(VIDEOMAE_BASE) / 1e6).toBeCloseTo(86.2, 0);
  });

  it('loads through the classifier loader as a contract model and gives per-window outputs that depend on the window', async () => {
    const bytes = buildVitOnnx(SMALL);
    expect(Buffer.from(buildVitOnnx(SMALL)).equals(Buffer.from(bytes))).toBe(true);
    // Weights dominate the file: 4 bytes per parameter plus a little graph.
    expect(bytes.length).toBeGreaterThan(4 * vitParameters(SMALL));
    const dir = await mkdtemp(join(tmpdir(), 'rc-vit-'));
    dirs.push(dir);
    await fs.writeFile(join(dir, 'model.onnx'), bytes);
    await fs.writeFile(join(dir, 'model.json'), stableJson(videoMaeSpec(SMALL.hidden)));
    const c = await loadClassifier(locateModel(dir, dir), { worker: false });
    try {
      expect(c.featureDim).toBe(SMALL.hidden);
      const batch = new Float32Array(2 * c.windowSize);
      for (let i = 0; i < batch.length; i++) batch[i] = i < c.windowSize ? Math.sin(i / 7) : Math.cos(i / 3);
      const out = await c.run(batch, 2);
      expect(out.logits.length).toBe(6);
      expect(out.features!.length).toBe(2 * SMALL.hidden);
      expect([...out.logits, ...out.features!].every(Number.isFinite)).toBe(true);
      expect(Array.from(out.features!.subarray(0, SMALL.hidden))).not.toEqual(Array.from(out.features!.subarray(SMALL.hidden)));
    } finally {
      await c.release();
    }
  });
});
