// `rallycut train modal` and the modal-train stage through Modal's real SDK (modal@0.11.1) against the FAKE
// of Modal's control plane and command router (test/services/modal/), with the stand-in trainer
// (standin/train_standin.py: numbered checkpoints, resumes, stdlib only: it runs on this machine's python3).
// One test keeps RALLYCUT_MODAL_BACKEND=local, the user-facing "run the job on this machine" mode.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rig } from '../../test/rig.js';
import { FAKE_TOKEN_SECRET, FakeModal } from '../../test/services/modal/server.js';
import { buildTrainJob } from './job.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const STANDIN = resolve(HERE, 'standin/train_standin.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;
const LOCAL = { RALLYCUT_MODAL_BACKEND: 'local', RALLYCUT_MODAL_BACKOFF_MS: '5' };
const SDK = { RALLYCUT_MODAL_BACKOFF_MS: '5' };

let fake: FakeModal;
beforeAll(async () => {
  fake = await FakeModal.start();
  // The SDK reads its server and token from process.env; rig.run() runs the CLI in this process.
  Object.assign(process.env, fake.env());
});
afterAll(async () => fake.stop());

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.cleanup();
  expect(fake.state.unexpected).toEqual([]);
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
    Array.from({ length: 20 }, (_, k) => ({
      video_id: id,
      label: ['no_play', 'play', 'service'][k % 3],
      start_frame: k * 16,
      end_frame: k * 16 + 15,
      group: `g${k}`,
      split: k % 10 === i ? 'val' : 'train',
    })),
  );
  files['training_data/proxies.json'] = JSON.stringify({ version: 1, dataset: 'demo', videos: entries });
  files['training_data/samples.json'] = JSON.stringify({ version: 1, dataset: 'demo', seed: 42, window: 16, samples });
  await rig.write(files);
}

/** A volume of its own per test: the fake is shared by the file. */
function volumeName(): string {
  return `rt-${randomBytes(4).toString('hex')}`;
}

/** What a new Sandbox would see on the volume: committed files with their sizes. */
async function volumeFiles(volume: string): Promise<{ path: string; size: number }[]> {
  const v = fake.state.volumeNamed(volume);
  if (!v) return [];
  return Promise.all((await v.files()).map(async (p) => ({ path: p, size: (await fs.stat(join(v.committedDir, p))).size })));
}

const train = (volume: string, extra: string[] = []): string[] => ['train', 'modal', '--volume', volume, '--script', STANDIN, '--max-steps', '250', ...extra];

/** Content uploads (the SDK's fs-tool WriteFile execs) since log index `from`. */
function uploadsSince(from: number): number {
  return fake.state.log.slice(from).filter((r) => r.method === 'TaskExecStart' && JSON.stringify(r.request).includes('WriteFile')).length;
}

describe.skipIf(!hasPython)('rallycut train modal through the SDK against the fake Modal (stand-in trainer)', () => {
  it('uploads only new files, each content hash once (--upload, --upload-videos, --upload-model)', async () => {
    const rig = await project();
    const vol = volumeName();
    const from = fake.state.log.length;
    const first = await rig.run(['train', 'modal', '--volume', vol, '--upload', '--script', STANDIN, '--json'], SDK);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ action: 'upload', uploaded: 5, present: 0 }); // 2 proxies, 2 index files, script
    expect(first.stderr).toContain(`[modal-train] backend: modal (app rallycut, volume ${vol} at /data)`);
    const again = await rig.run(['train', 'modal', '--volume', vol, '--upload', '--script', STANDIN, '--json'], SDK);
    expect(JSON.parse(again.stdout)).toMatchObject({ uploaded: 0, present: 5, bytes: 0 });
    await writeData(rig, ['v1', 'v2', 'v3']);
    const videos = await rig.run(['train', 'modal', '--volume', vol, '--upload-videos', '--json'], SDK);
    expect(JSON.parse(videos.stdout)).toMatchObject({ uploaded: 1, present: 2 });
    const rest = await rig.run(['train', 'modal', '--volume', vol, '--upload', '--script', STANDIN, '--json'], SDK);
    expect(JSON.parse(rest.stdout)).toMatchObject({ uploaded: 2, present: 4 }); // the two changed index files
    const base = await rig.run(['model', 'build-baseline', '--out', 'weights/videomae-base']);
    expect(base.code, base.stderr).toBe(0);
    await rig.write({ 'weights/videomae-base/config.json': '{"model_type": "videomae"}\n' });
    const model = await rig.run(['train', 'modal', '--volume', vol, '--upload-model', '--json'], SDK);
    expect(JSON.parse(model.stdout)).toMatchObject({ uploaded: 3, present: 0 }); // config.json, model.onnx, model.json
    // On the wire: one WriteFile per uploaded object, never one for content the volume had.
    expect(uploadsSince(from)).toBe(5 + 0 + 1 + 2 + 3);
    expect((await volumeFiles(vol)).filter((f) => f.path.startsWith('objects/')).length).toBe(11);
  });

  it('a Sandbox preempted mid-training is retried with backoff and resumes from the latest checkpoint on the volume', async () => {
    const rig = await project();
    const vol = volumeName();
    fake.preemptOn(/^step 100: saved checkpoint-100$/);
    const r = await rig.run(train(vol, ['--env', 'STANDIN_STEP_SECONDS=0.004']), SDK);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const at = (s: string): number => lines.findIndex((l) => l.includes(s));
    expect(at('[modal-train] step 100: saved checkpoint-100')).toBeGreaterThan(-1);
    expect(at('[modal-train] attempt 1 of 3 killed (exit 137: preempted or out of memory); retrying in 0.01 s')).toBeGreaterThan(at('checkpoint-100'));
    expect(at('[modal-train] resuming from checkpoint-100')).toBeGreaterThan(at('attempt 1 of 3'));
    expect(at('[modal-train] attempt 2 of 3 succeeded')).toBeGreaterThan(at('resuming from checkpoint-100'));
    expect(JSON.parse(rig.read('metrics/modal-train.json'))).toEqual({ global_step: 250, resumed_from_step: 100, samples: 40 });
    expect(JSON.parse(rig.read('weights/videomae/beach/model.json'))).toMatchObject({ kind: 'stand-in' });
    // A process killed inside the job (exit 137 from the container) is retried the same way…
    const killed = await rig.run(train(vol, ['--max-steps', '450', '--env', 'STANDIN_KILL_AT_STEP=350']), SDK);
    expect(killed.code, killed.stderr).toBe(0);
    expect(killed.stderr).toContain('[modal-train] step 350: killed (simulated preemption)');
    expect(killed.stderr).toContain('[modal-train] resuming from checkpoint-300');
    // …a later run resumes from the newest checkpoint, and --fresh starts over.
    const fresh = await rig.run(train(vol, ['--fresh']), SDK);
    expect(fresh.stderr).toContain('[modal-train] starting from step 0 (no checkpoint)');
  });

  it('fails after 3 attempts, listing them', async () => {
    const rig = await project();
    const vol = volumeName();
    const r = await rig.run(train(vol, ['--env', 'STANDIN_FAIL=1']), SDK);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`'modal-train-beach' failed on modal \\(app rallycut, volume ${vol} at /data\\) after 3 attempts`));
    for (const n of [1, 2, 3]) expect(r.stderr).toMatch(new RegExp(`attempt ${n}: exited with code 1 after [\\d.]+ s`));
    expect(rig.exists('weights/videomae/beach')).toBe(false);
  });

  it('--resume-from-model and --epochs: the baseline ONNX model travels up, through the job and back, verified', async () => {
    const rig = await project();
    const vol = volumeName();
    expect((await rig.run(['model', 'build-baseline', '--out', 'weights/videomae-base'])).code).toBe(0);
    await rig.write({ 'weights/videomae-base/config.json': '{"model_type": "videomae"}\n' });
    const from = fake.state.log.length;
    const r = await rig.run(['train', 'modal', '--volume', vol, '--script', STANDIN, '--resume-from-model', '--epochs', '3'], SDK);
    expect(r.code, r.stderr).toBe(0);
    // 36 training windows, batch 8 × accumulation 2 → 3 steps an epoch.
    expect(JSON.parse(rig.read('metrics/modal-train.json'))).toMatchObject({ global_step: 9 });
    for (const f of ['model.onnx', 'model.json', 'config.json']) {
      expect(readFileSync(join(rig.dir, 'weights/videomae/beach', f)).equals(readFileSync(join(rig.dir, 'weights/videomae-base', f)))).toBe(true);
    }
    const create = fake.state.log.slice(from).find((x) => x.method === 'SandboxCreate')!.request as { definition: { entrypointArgs: string[] } };
    expect(create.definition.entrypointArgs.join(' ')).toContain(
      'python3 train.py --data-dir data --output-dir output --variant beach --epochs 3 --batch-size 8 --resume-from-model base_model',
    );
  });

  it('downloads the model verified by hash, and refuses a corrupted one', async () => {
    const rig = await project();
    const vol = volumeName();
    expect((await rig.run(train(vol), SDK)).code).toBe(0);
    const local = readFileSync(join(rig.dir, 'weights/videomae/beach/model.onnx'));
    const remote = join(fake.state.volumeNamed(vol)!.committedDir, 'work/modal-train-beach/output/model/model.onnx');
    expect(readFileSync(remote).equals(local)).toBe(true);
    await rig.remove('weights');
    const bytes = readFileSync(remote);
    bytes[3] = bytes[3]! ^ 0xff;
    await fs.writeFile(remote, bytes);
    const bad = await rig.run(['train', 'modal', '--volume', vol, '--download'], SDK);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/1 downloaded file of 'modal-train-beach' did not match the hashes the job wrote/);
    expect(bad.stderr).toMatch(/output\/model\/model\.onnx: sha256 [0-9a-f]{12}… but the job recorded/);
    expect(rig.exists('weights/videomae/beach')).toBe(false);
    bytes[3] = bytes[3]! ^ 0xff;
    await fs.writeFile(remote, bytes);
    const good = await rig.run(['train', 'modal', '--volume', vol, '--download', '--json'], SDK);
    expect(JSON.parse(good.stdout)).toMatchObject({ action: 'download', files: 4 }); // config, model.onnx, model.json, metrics
    expect(readFileSync(join(rig.dir, 'weights/videomae/beach/model.onnx')).equals(local)).toBe(true);
  });

  it('cleanup removes everything and reports the bytes freed', async () => {
    const rig = await project();
    const vol = volumeName();
    expect((await rig.run(train(vol), SDK)).code).toBe(0);
    const before = await volumeFiles(vol);
    expect(before.length).toBeGreaterThan(8);
    const r = await rig.run(['train', 'modal', '--volume', vol, '--cleanup', '--json'], SDK);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, action: 'cleanup', volume: vol, bytes_freed: before.reduce((n, f) => n + f.size, 0) });
    expect(await volumeFiles(vol)).toEqual([]);
  });

  it('runs as a pipeline stage on executor: modal, with the options it declares on the wire', async () => {
    const rig = await project();
    const vol = volumeName();
    fake.addSecret('hf-token', { HF_TOKEN: 'hf-fake-token-value' });
    await rig.write({
      'pipeline.yaml': [
        'stages:',
        '  modal-train:',
        '    handler: modal-train',
        `    with: { variant: beach, max_steps: 120, script: ${JSON.stringify(STANDIN)} }`,
        `    executor: {name: modal, gpu: A100, timeout: 2h, memory: 8Gi, volume: ${vol}, secrets: [hf-token]}`,
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
    const from = fake.state.log.length;
    const io = { env: rig.env(SDK), err: (s: string) => void (log += s), signal: new AbortController().signal };
    const result = await reproduce(rig.dir, handlerRegistry, { executors: { modal: modalExecutor } }, io);
    expect(result.errors, log).toEqual([]);
    expect(log).toContain('[modal-train] step 100: saved checkpoint-100');
    expect(JSON.parse(rig.read('metrics/modal-train.json'))).toMatchObject({ global_step: 120 });
    expect(rig.read('pipeline.lock')).toContain('weights/videomae/beach');

    const rpc = fake.state.log.slice(from);
    const job = rpc.find((x) => x.method === 'SandboxCreate')!.request as {
      definition: {
        timeoutSecs: number;
        resources: { memoryMb: number; gpuConfig: { gpuType: string } };
        volumeMounts: { mountPath: string; volumeId: string }[];
        secretIds: string[];
      };
    };
    expect(job.definition).toMatchObject({ timeoutSecs: 7200, resources: { memoryMb: 8192, gpuConfig: { gpuType: 'A100' } } });
    expect(job.definition.volumeMounts).toEqual([expect.objectContaining({ mountPath: '/data', volumeId: fake.state.volumeNamed(vol)!.id })]);
    expect(job.definition.secretIds).toContain('st-hf-token');
    const images = rpc
      .filter((x) => x.method === 'ImageGetOrCreate')
      .map((x) => (x.request as { image: { dockerfileCommands: string[] } }).image.dockerfileCommands.join('\n'));
    expect(images).toContain(
      'FROM base\nRUN python3 -m pip install --no-cache-dir accelerate==0.34.2 numpy==1.26.4 onnx==1.16.2 onnxruntime==1.19.2 opencv-python-headless==4.10.0.84 torch==2.4.1 transformers==4.44.2',
    );
    // Secrets by name only: neither the Modal token secret nor the secret's value in any request or log line.
    for (const text of [JSON.stringify(rpc), log]) {
      expect(text).not.toContain(FAKE_TOKEN_SECRET);
      expect(text).not.toContain('hf-fake-token-value');
    }
  });

  it('the spawned CLI (bin/rallycut) talks to the fake through MODAL_SERVER_URL', async () => {
    const rig = await project();
    const vol = volumeName();
    const r = await rig.spawn(['train', 'modal', '--volume', vol, '--upload', '--script', STANDIN, '--json'], fake.env());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'upload', uploaded: 5 });
    expect(`${r.stdout}${r.stderr}`).not.toContain(FAKE_TOKEN_SECRET);
    expect((await volumeFiles(vol)).length).toBe(5);
  });

  it('a token Modal refuses is a config error before anything is uploaded', async () => {
    const rig = await project();
    const from = fake.state.log.length;
    const r = await rig.spawn(['train', 'modal', '--volume', volumeName(), '--upload', '--script', STANDIN], { ...fake.env(), MODAL_TOKEN_SECRET: 'as-wrong' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('Modal refused the credentials');
    expect(r.stderr).toContain('nothing was uploaded');
    expect(fake.state.log.slice(from).map((x) => x.method)).not.toContain('SandboxCreateV2');
  });
});

describe.skipIf(!hasPython)('RALLYCUT_MODAL_BACKEND=local: the job on this machine', () => {
  it('trains with the stand-in, labelled as not Modal', async () => {
    const rig = await project();
    const r = await rig.run(['train', 'modal', '--script', STANDIN, '--max-steps', '150'], LOCAL);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('[modal-train] backend: local stand-in for Modal');
    expect(r.stderr).toContain('Modal would use gpu T4, image python:3.11 torch==2.4.1');
    expect(JSON.parse(rig.read('metrics/modal-train.json'))).toEqual({ global_step: 150, resumed_from_step: 0, samples: 40 });
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
      const env: Record<string, string> = {
        HOME: home,
        MODAL_SERVER_URL: `http://127.0.0.1:${port}`,
        MODAL_TOKEN_ID: '',
        MODAL_TOKEN_SECRET: '',
        MODAL_CONFIG_PATH: '',
        RALLYCUT_MODAL_BACKEND: 'modal',
      };
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
  it('starts a fresh fine-tune from the indoor game-state classifier when its HF files are there, as the seed does', async () => {
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
    execFileSync('python3', [
      '-c',
      `import py_compile; py_compile.compile(${JSON.stringify(script)}, cfile=${JSON.stringify(join(rig.dir, 'train.pyc'))}, doraise=True)`,
    ]);
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
