// `rallycut train modal` and the modal-train stage on the LOCAL STAND-IN for Modal's cloud, with the
// stand-in trainer (standin/train_standin.py: numbered checkpoints, resumes, can be killed mid-run).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../../test/rig.js';
import { buildTrainJob } from './job.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const STANDIN = resolve(HERE, 'standin/train_standin.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;
const LOCAL = { RALLYCUT_MODAL_BACKEND: 'local', RALLYCUT_MODAL_BACKOFF_MS: '5' };
const VOLUME = '.cache/modal-local/rallycut-training';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.cleanup();
});

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A project with prepare's two index files and proxies in the proxy store (bytes only: the stand-in does not decode). */
async function project(videos = ['v1', 'v2']): Promise<Rig> {
  const rig = new Rig('rallycut-modal-train-');
  rigs.push(rig);
  await rig.write({ 'pipeline.yaml': 'stages: {}\n' });
  await writeData(rig, videos);
  return rig;
}

async function writeData(rig: Rig, videos: string[]): Promise<void> {
  const files: Record<string, string> = {};
  const entries = videos.map((id) => {
    const bytes = `proxy bytes of ${id}\n`;
    files[`.cache/proxies/${id}-hash.mp4`] = bytes;
    return { video_id: id, filename: `${id}.mp4`, content_hash: `${id}-hash`, proxy_path: `proxies/${id}-hash.mp4`, proxy_sha256: sha(bytes) };
  });
  const samples = videos.flatMap((id, i) =>
    Array.from({ length: 20 }, (_, k) => ({ video_id: id, label: ['no_play', 'play', 'service'][k % 3], start_frame: k * 16, end_frame: k * 16 + 15, group: `g${k}`, split: k % 10 === i ? 'val' : 'train' })),
  );
  files['training_data/proxies.json'] = JSON.stringify({ version: 1, dataset: 'demo', videos: entries });
  files['training_data/samples.json'] = JSON.stringify({ version: 1, dataset: 'demo', seed: 42, window: 16, samples });
  await rig.write(files);
}

async function volumeFiles(rig: Rig): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push({ path: p, size: (await fs.stat(p)).size });
    }
  };
  await walk(join(rig.dir, VOLUME));
  return out;
}

const train = (extra: string[] = []): string[] => ['train', 'modal', '--script', STANDIN, '--max-steps', '250', ...extra];

describe.skipIf(!hasPython)('rallycut train modal (local stand-in backend, stand-in trainer)', () => {
  it('uploads only new files', async () => {
    const rig = await project();
    const first = await rig.run(['train', 'modal', '--upload', '--script', STANDIN, '--json'], LOCAL);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ action: 'upload', uploaded: 5, present: 0 }); // 2 proxies, 2 index files, script
    expect(first.stderr).toContain('[modal-train] backend: local stand-in for Modal');
    const again = await rig.run(['train', 'modal', '--upload', '--script', STANDIN, '--json'], LOCAL);
    expect(JSON.parse(again.stdout)).toMatchObject({ uploaded: 0, present: 5, bytes: 0 });
    await writeData(rig, ['v1', 'v2', 'v3']);
    const videos = await rig.run(['train', 'modal', '--upload-videos', '--json'], LOCAL);
    expect(JSON.parse(videos.stdout)).toMatchObject({ uploaded: 1, present: 2 });
    const rest = await rig.run(['train', 'modal', '--upload', '--script', STANDIN, '--json'], LOCAL);
    expect(JSON.parse(rest.stdout)).toMatchObject({ uploaded: 2, present: 4 }); // the two changed index files
  });

  it('a kill during attempt 1 resumes from the latest checkpoint in attempt 2', async () => {
    const rig = await project();
    const r = await rig.run(train(['--env', 'STANDIN_KILL_AT_STEP=150']), LOCAL);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const at = (s: string): number => lines.findIndex((l) => l.includes(s));
    expect(at('[modal-train] step 100: saved checkpoint-100')).toBeGreaterThan(-1);
    expect(at('[modal-train] step 150: killed (simulated preemption)')).toBeGreaterThan(at('checkpoint-100'));
    expect(at('[modal-train] attempt 1 of 3 killed (exit 137: preempted or out of memory); retrying')).toBeGreaterThan(at('step 150'));
    expect(at('[modal-train] resuming from checkpoint-100')).toBeGreaterThan(at('attempt 1 of 3'));
    expect(at('[modal-train] step 200: saved checkpoint-200')).toBeGreaterThan(at('resuming from checkpoint-100'));
    expect(at('[modal-train] attempt 2 of 3 succeeded')).toBeGreaterThan(at('checkpoint-200'));
    expect(JSON.parse(rig.read('metrics/modal-train.json'))).toEqual({ global_step: 250, resumed_from_step: 100, samples: 40 });
    expect(JSON.parse(rig.read('weights/videomae/beach/model.json'))).toMatchObject({ kind: 'stand-in' });
    // A later run resumes from the newest checkpoint the first one left (checkpoint-200)…
    const later = await rig.run(train(['--max-steps', '300']), LOCAL);
    expect(later.stderr).toContain('[modal-train] resuming from checkpoint-200');
    // …and --fresh starts over.
    const fresh = await rig.run(train(['--fresh']), LOCAL);
    expect(fresh.stderr).toContain('[modal-train] starting from step 0 (no checkpoint)');
  });

  it('fails after 3 attempts, listing them', async () => {
    const rig = await project();
    const r = await rig.run(train(['--env', 'STANDIN_FAIL=1']), LOCAL);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'modal-train-beach' failed on local stand-in for Modal .* after 3 attempts/);
    for (const n of [1, 2, 3]) expect(r.stderr).toMatch(new RegExp(`attempt ${n}: exited with code 1 after [\\d.]+ s`));
    expect(rig.exists('weights/videomae/beach')).toBe(false);
  });

  it('downloads the model verified by hash, and refuses a corrupted one', async () => {
    const rig = await project();
    expect((await rig.run(train(), LOCAL)).code).toBe(0);
    const local = readFileSync(join(rig.dir, 'weights/videomae/beach/model.onnx'));
    const remote = join(rig.dir, VOLUME, 'work/modal-train-beach/output/model/model.onnx');
    expect(readFileSync(remote).equals(local)).toBe(true);
    await rig.remove('weights');
    const bytes = readFileSync(remote);
    bytes[3] = bytes[3]! ^ 0xff;
    await fs.writeFile(remote, bytes);
    const bad = await rig.run(['train', 'modal', '--download'], LOCAL);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/1 downloaded file of 'modal-train-beach' did not match the hashes the job wrote/);
    expect(bad.stderr).toMatch(/output\/model\/model\.onnx: sha256 [0-9a-f]{12}… but the job recorded/);
    expect(rig.exists('weights/videomae/beach')).toBe(false);
    bytes[3] = bytes[3]! ^ 0xff;
    await fs.writeFile(remote, bytes);
    const good = await rig.run(['train', 'modal', '--download', '--json'], LOCAL);
    expect(JSON.parse(good.stdout)).toMatchObject({ action: 'download', files: 4 }); // config, model.onnx, model.json, metrics
    expect(readFileSync(join(rig.dir, 'weights/videomae/beach/model.onnx')).equals(local)).toBe(true);
  });

  it('cleanup removes everything and reports the bytes freed', async () => {
    const rig = await project();
    expect((await rig.run(train(), LOCAL)).code).toBe(0);
    const before = await volumeFiles(rig);
    expect(before.length).toBeGreaterThan(8);
    const r = await rig.run(['train', 'modal', '--cleanup', '--json'], LOCAL);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, action: 'cleanup', volume: 'rallycut-training', bytes_freed: before.reduce((n, f) => n + f.size, 0) });
    expect(await volumeFiles(rig)).toEqual([]);
  });

  it('runs as a pipeline stage on executor: modal', async () => {
    const rig = await project();
    await rig.write({
      'pipeline.yaml': [
        'stages:',
        '  modal-train:',
        '    handler: modal-train',
        `    with: { variant: beach, max_steps: 120, script: ${JSON.stringify(STANDIN)} }`,
        '    executor: {name: modal, gpu: T4, timeout: 4h, memory: 16384}',
        '    deps: [training_data/proxies.json, training_data/samples.json]',
        '    outs: [weights/videomae/beach]',
        '    metrics: [metrics/modal-train.json: { cache: false }]',
        '',
      ].join('\n'),
    });
    const { reproduce } = await import('../../src/exec/reproduce.js');
    const { modalExecutor } = await import('../../src/exec/modal/executor.js');
    const { handlerRegistry } = await import('../index.js');
    let log = '';
    const io = { env: rig.env(LOCAL), err: (s: string) => void (log += s), signal: new AbortController().signal };
    const result = await reproduce(rig.dir, handlerRegistry, { executors: { modal: modalExecutor } }, io);
    expect(result.errors, log).toEqual([]);
    expect(log).toContain('[modal-train] step 100: saved checkpoint-100');
    expect(log).toContain('Modal would use gpu T4, image python:3.11 torch==2.4.1');
    expect(JSON.parse(rig.read('metrics/modal-train.json'))).toMatchObject({ global_step: 120 });
    expect(rig.read('pipeline.lock')).toContain('weights/videomae/beach');
  });
});

describe('modal-train without the stand-in', () => {
  it('a missing Modal token is a clear error before anything is uploaded or contacted', async () => {
    const rig = await project();
    const home = join(rig.dir, 'empty-home');
    await fs.mkdir(home);
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const env: Record<string, string> = { HOME: home, MODAL_SERVER_URL: `http://127.0.0.1:${port}`, MODAL_TOKEN_ID: '', MODAL_TOKEN_SECRET: '', MODAL_CONFIG_PATH: '', RALLYCUT_MODAL_BACKEND: 'modal' };
      const r = await rig.spawn(['train', 'modal', '--upload'], env);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('Modal credentials are missing');
      expect(r.stderr).toContain('MODAL_TOKEN_ID and MODAL_TOKEN_SECRET');
      expect(r.stderr).toContain('~/.modal.toml');
      expect(r.stderr).toContain('nothing was uploaded');
      expect(r.stderr).not.toContain('uploaded 0');
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('refuses to run on the local executor, naming the fix', async () => {
    const rig = await project();
    await rig.write({ 'pipeline.yaml': 'stages:\n  mt:\n    handler: modal-train\n    with: { variant: beach }\n    deps: [training_data/samples.json]\n' });
    const r = await rig.run(['repro'], LOCAL);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("stage 'mt' trains on a GPU and needs 'executor: modal'");
  });
});

describe('the training job', () => {
  it("starts a fresh fine-tune from the indoor game-state classifier when its HF files are there, as the seed does", async () => {
    const rig = await project();
    const cache = join(rig.dir, '.cache');
    expect((await buildTrainJob(rig.dir, cache, { variant: 'beach' })).command).not.toContain('--pretrained'); // train.py: Kinetics
    await rig.write({ 'weights/videomae/game_state_classifier/config.json': '{}', 'weights/videomae/game_state_classifier/model.safetensors': 'w' });
    const job = await buildTrainJob(rig.dir, cache, { variant: 'beach' });
    expect(job.command).toContain('--pretrained base_model');
    expect(job.inputs.map((i) => i.path)).toEqual(expect.arrayContaining(['base_model/config.json', 'base_model/model.safetensors']));
  });
});

describe.skipIf(!hasPython)('train.py (no torch here: syntax and the pure helpers)', () => {
  it('compiles, finds the highest checkpoint and computes macro-F1', async () => {
    const rig = await project();
    const script = resolve(HERE, 'train.py');
    execFileSync('python3', ['-c', `import py_compile; py_compile.compile(${JSON.stringify(script)}, cfile=${JSON.stringify(join(rig.dir, 'train.pyc'))}, doraise=True)`]);
    const hasNumpy = spawnSync('python3', ['-c', 'import numpy']).status === 0;
    if (!hasNumpy) return; // the pure helpers need numpy; the syntax check above still ran
    for (const n of [100, 900, 1000, 250]) {
      await fs.mkdir(join(rig.dir, 'ck', `checkpoint-${n}`), { recursive: true });
      await fs.writeFile(join(rig.dir, 'ck', `checkpoint-${n}`, 'trainer_state.json'), '{}');
    }
    await fs.mkdir(join(rig.dir, 'ck', 'checkpoint-x'));
    await fs.mkdir(join(rig.dir, 'ck', 'checkpoint-1100')); // cut off mid-save: no trainer_state.json
    const code = [
      'import sys, numpy as np',
      `sys.path.insert(0, ${JSON.stringify(HERE)})`,
      'import train',
      'from pathlib import Path',
      `print(train.latest_checkpoint(Path(${JSON.stringify(join(rig.dir, 'ck'))})).name)`,
      'print(train.latest_checkpoint(Path("/nonexistent")))',
      'print(round(train.macro_f1(np.array([0,1,2,2,1]), np.array([0,1,2,1,1])), 4))',
    ].join('\n');
    const out = execFileSync('python3', ['-B', '-c', code], { encoding: 'utf8' });
    // F1 per class: no_play 1, play 2·2/(2·2+0+1) = 0.8, service 2·1/(2·1+1+0) = 0.6667 → mean 0.8222
    expect(out.split('\n')).toEqual(['deleted checkpoint-1100: incomplete (no trainer_state.json)', 'checkpoint-1000', 'None', '0.8222', '']);
    // deleted, so Trainer's keep-3 rotation cannot count it and remove a good checkpoint in its place
    expect((await fs.readdir(join(rig.dir, 'ck'))).sort()).toEqual(['checkpoint-100', 'checkpoint-1000', 'checkpoint-250', 'checkpoint-900', 'checkpoint-x']);
  });

  it('follows the seed: macro-F1 over the classes present, fp32 by default, warmup on transformers 4 and 5, its augmentation', () => {
    if (spawnSync('python3', ['-c', 'import numpy']).status !== 0) return;
    const code = [
      'import sys, numpy as np',
      `sys.path.insert(0, ${JSON.stringify(HERE)})`,
      'import train',
      // service absent from both: sklearn averages over no_play (2/3) and play (0.8) only
      'print(round(train.macro_f1(np.array([0,1,1,0]), np.array([0,1,1,1])), 4))',
      'print(train.parse_args([]).fp16, train.parse_args(["--fp16"]).fp16, train.parse_args([]).pretrained)',
      'class V4:\n    def __init__(self, warmup_ratio=0.0, warmup_steps=0): pass',
      'class V5:\n    def __init__(self, warmup_steps=0): pass',
      'print(train.warmup_argument(V4, 0.1), train.warmup_argument(V5, 0.1))',
      'class Fixed:\n    def __init__(self, r, u): self.r, self.u = r, u\n    def random(self): return self.r\n    def uniform(self, a, b): return self.u',
      'f = np.arange(16 * 2 * 3 * 3, dtype=np.uint8).reshape(16, 2, 3, 3)',
      'print(np.array_equal(train.augment_frames(f, Fixed(0.1, 1.0)), f[:, :, ::-1, :]), np.array_equal(train.augment_frames(f, Fixed(0.9, 1.0)), f))',
      'print(int(train.augment_frames(np.full((16, 2, 2, 3), 100, np.uint8), Fixed(0.9, 1.1)).max()))',
      'print(train.KINETICS, train.EARLY_STOPPING_PATIENCE, train.EARLY_STOPPING_THRESHOLD)',
    ].join('\n');
    const out = execFileSync('python3', ['-B', '-c', code], { encoding: 'utf8' });
    expect(out.split('\n')).toEqual([
      '0.7333',
      'False True None',
      "{'warmup_ratio': 0.1} {'warmup_steps': 0.1}",
      'True True',
      '110',
      'MCG-NJU/videomae-base-finetuned-kinetics 5 0.01',
      '',
    ]);
  });
});
