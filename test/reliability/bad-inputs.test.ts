// The bad-input corpus (test/fixtures/bad/<case>/): each case's files are copied into a fresh project, the
// command in case.json runs, and the test asserts a non-zero exit, an error naming the file, line, item or
// key (case.json's `expect` fragments), and that every file that existed before is still there, unchanged.
// Videos that need real media are generated here with ffmpeg (case.json `generate`), not committed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { stableJson } from '../../src/handler.js';
import { baselineSpec } from '../../stages/lib/model/build.js';
import { GraphBuilder, type Dim } from '../../stages/lib/model/onnx-graph.js';
import { freshBucket, type TestS3 } from '../services/fresh.js';
import { Rig } from '../rig.js';

const CORPUS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bad');

interface BadCase {
  args: string[];
  /** Fragments the output must contain (all of them). */
  expect: string | string[];
  env: Record<string, string>;
  generate?: 'clip' | 'truncated' | 'audio-only' | 'huge';
  /** A classifier folder generated with the project's ONNX writer into weights/bad/, with these signatures. */
  model?: ModelShapes;
}

interface ModelShapes {
  /** pixel_values, [B, T, C, H, W] (any lengths). */
  input: Dim[];
  logits: Dim[];
  features: Dim[];
}

/**
 * A valid ONNX graph with the given (wrong) signature: the input is averaged over its last three axes to
 * [B, T], then two MatMuls make logits [B, L] and features [B, D]. onnxruntime loads it; only the contract
 * check can refuse it. model.json is the baseline's, so the expected shapes are the real ones.
 */
async function writeModel(shapes: ModelShapes, dir: string): Promise<void> {
  const g = new GraphBuilder();
  const x = g.input('pixel_values', shapes.input);
  const t = Number(shapes.input[1]);
  const pooled = g.op('ReduceMean', [x], { axes: [2, 3, 4], keepdims: 0 });
  const head = (name: string, shape: Dim[]): void => {
    const width = Number(shape[1]);
    g.op('MatMul', [pooled, g.floatConst(new Array<number>(t * width).fill(0.01), [t, width])], {}, name);
    g.output(name, shape);
  };
  head('logits', shapes.logits);
  head('features', shapes.features);
  await fs.mkdir(join(dir, 'weights', 'bad'), { recursive: true });
  await fs.writeFile(join(dir, 'weights', 'bad', 'model.onnx'), g.encode('wrong_shape', 'bad-input corpus: a model with the wrong signature'));
  await fs.writeFile(join(dir, 'weights', 'bad', 'model.json'), stableJson(baselineSpec()));
}

const cases = readdirSync(CORPUS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

async function snapshot(dir: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const d of await fs.readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (r === '.cache' || r === 'invocations.log') continue;
    if (d.isDirectory()) for (const [k, v] of await snapshot(dir, r)) out.set(k, v);
    else
      out.set(
        r,
        createHash('sha256')
          .update(await fs.readFile(join(dir, r)))
          .digest('hex'),
      );
  }
  return out;
}

function ffmpeg(args: string[], cwd: string): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd, stdio: 'ignore' });
}

async function generate(kind: NonNullable<BadCase['generate']>, dir: string): Promise<void> {
  if (kind === 'audio-only') return ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', 'audio.mp4'], dir);
  // Wider than any camera (the limit is 8192 px a side), yet a few KB: a 16-line strip.
  if (kind === 'huge') return ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=8208x16:r=5:d=1', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', 'huge.mp4'], dir);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=2', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', 'clip.mp4'], dir);
  if (kind === 'truncated') {
    const bytes = await fs.readFile(join(dir, 'clip.mp4'));
    await fs.writeFile(join(dir, 'trunc.mp4'), bytes.subarray(0, Math.floor(bytes.length / 3)));
    await fs.rm(join(dir, 'clip.mp4'));
  }
}

describe('bad-input corpus', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await freshBucket();
  });

  it('holds at least 40 cases', () => expect(cases.length).toBeGreaterThanOrEqual(40));

  it.each(cases)('%s: fails, names the culprit, loses nothing', async (name) => {
    const spec = JSON.parse(readFileSync(join(CORPUS, name, 'case.json'), 'utf8')) as BadCase;
    const rig = new Rig('rallycut-bad-');
    try {
      await fs.cp(join(CORPUS, name, 'files'), rig.dir, { recursive: true });
      if (spec.generate) await generate(spec.generate, rig.dir);
      if (spec.model) await writeModel(spec.model, rig.dir);
      const env = Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, v.replace('@S3_BUCKET@', s3.bucket).replace('@S3_ENDPOINT@', s3.endpoint)]));
      const before = await snapshot(rig.dir);
      const res = await rig.run(spec.args, env);
      const text = res.stdout + res.stderr;
      if (process.env.BAD_PRINT) console.log(`=== ${name} (${res.code})\n${text}`);
      expect(res.code, text).not.toBe(0);
      for (const fragment of [spec.expect].flat()) expect(text).toContain(fragment);
      const after = await snapshot(rig.dir);
      for (const [file, hash] of before) expect(after.get(file), `${file} was lost or changed`).toBe(hash);
    } finally {
      await rig.cleanup();
    }
  });
});
