// The Modal runner's data movement and retries on the LOCAL backend (RALLYCUT_MODAL_BACKEND=local's, the job
// on this machine): content-addressed uploads, attempts with backoff, verified downloads, cleanup. A cmd:
// stage run by `repro` on executor: modal goes through the real SDK to the fake Modal (test/services/modal/).
import { mkdtempSync, promises as fs, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeModal } from '../../../test/services/modal/server.js';
import { RallycutError } from '../../diagnostics.js';
import { reproduce } from '../reproduce.js';
import type { RemoteJob } from './job.js';
import { LocalStandInBackend } from './local-backend.js';
import { resolveSettings } from './options.js';
import { ModalJobRunner } from './runner.js';
import { modalExecutor } from './executor.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function setup(retries = 2) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'rallycut-modal-')));
  dirs.push(dir);
  const volume = join(dir, 'volume');
  const backend = new LocalStandInBackend(volume);
  const lines: string[] = [];
  const settings = resolveSettings({ retries }, {}, { subject: 't' });
  const runner = new ModalJobRunner(backend, settings, { log: (l) => lines.push(l), subject: 't', signal: new AbortController().signal, backoffMs: 5 });
  const write = async (rel: string, text: string): Promise<string> => {
    await fs.mkdir(join(dir, rel, '..'), { recursive: true });
    await fs.writeFile(join(dir, rel), text);
    return join(dir, rel);
  };
  return { dir, volume, backend, runner, lines, write };
}

function job(dir: string, inputs: string[], command: string): RemoteJob {
  return {
    name: 'job',
    inputs: inputs.map((p) => ({ local: join(dir, p), path: `in/${p}` })),
    command,
    outputs: [{ path: 'out', local: join(dir, 'result') }],
  };
}

describe('modal runner on the local stand-in', () => {
  it('uploads only content the volume lacks', async () => {
    const t = await setup();
    await t.write('a.txt', 'alpha');
    await t.write('b.txt', 'beta');
    await t.write('same-as-a.txt', 'alpha');
    const first = await t.runner.sync(job(t.dir, ['a.txt', 'b.txt', 'same-as-a.txt'], 'true'));
    expect([first.uploaded, first.present]).toEqual([2, 0]);
    expect((await t.backend.list('objects')).length).toBe(2);
    const again = await t.runner.sync(job(t.dir, ['a.txt', 'b.txt', 'same-as-a.txt'], 'true'));
    expect([again.uploaded, again.present, again.bytes]).toEqual([0, 2, 0]);
    await t.write('c.txt', 'gamma');
    const more = await t.runner.sync(job(t.dir, ['a.txt', 'b.txt', 'c.txt'], 'true'));
    expect([more.uploaded, more.present, more.bytes]).toEqual([1, 2, 5]);
    expect(t.lines).toContain('uploaded 1 object (0.0 MB); 2 already on volume rallycut-training');
  });

  it('runs the command on linked inputs and brings back verified outputs', async () => {
    const t = await setup();
    await t.write('a.txt', 'alpha\n');
    await t.write('b.txt', 'beta\n');
    const j = job(t.dir, ['a.txt', 'b.txt'], 'mkdir -p out/sub && cat in/a.txt in/b.txt > out/sum.txt && echo x > out/sub/x.txt && echo ran');
    const { hashes } = await t.runner.sync(j);
    await t.runner.attempts(j, hashes);
    expect(await t.runner.fetch(j)).toEqual({ files: 2, bytes: 13 });
    expect(readFileSync(join(t.dir, 'result/sum.txt'), 'utf8')).toBe('alpha\nbeta\n');
    expect(readFileSync(join(t.dir, 'result/sub/x.txt'), 'utf8')).toBe('x\n');
    expect(t.lines).toContain('ran');
    expect(t.lines[1]).toMatch(/^\(local stand-in for Modal: runs on this machine; Modal would use gpu none/);
  });

  it('detects a byte flipped on the volume and keeps the local outputs', async () => {
    const t = await setup();
    await t.write('a.txt', 'alpha\n');
    const j = job(t.dir, ['a.txt'], 'mkdir -p out && cp in/a.txt out/a.txt');
    const { hashes } = await t.runner.sync(j);
    await t.runner.attempts(j, hashes);
    await t.runner.fetch(j);
    const remote = join(t.volume, 'work/job/out/a.txt');
    const bytes = await fs.readFile(remote);
    bytes[0] = bytes[0]! ^ 0x01;
    await fs.writeFile(remote, bytes);
    const err = await t.runner.fetch(j).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RallycutError);
    const d = (err as RallycutError).diagnostics[0]!;
    expect(d.message).toBe("1 downloaded file of 'job' did not match the hashes the job wrote");
    expect(d.notes?.[0]).toMatch(/^out\/a\.txt: sha256 [0-9a-f]{12}… but the job recorded [0-9a-f]{12}…$/);
    expect(readFileSync(join(t.dir, 'result/a.txt'), 'utf8')).toBe('alpha\n');
  });

  it('fails after 1 + retries attempts, listing each', async () => {
    const t = await setup(2);
    const j = job(t.dir, [], 'echo "attempt $RALLYCUT_ATTEMPT"; exit 3');
    const err = await t.runner.attempts(j, new Map()).catch((e: unknown) => e);
    const d = (err as RallycutError).diagnostics[0]!;
    expect(d.message).toMatch(/^'job' failed on local stand-in for Modal \(volume folder .*\) after 3 attempts$/);
    expect(d.notes?.slice(0, 3).map((n) => n.replace(/after [\d.]+ s/, 'after N s'))).toEqual([
      'attempt 1: exited with code 3 after N s',
      'attempt 2: exited with code 3 after N s',
      'attempt 3: exited with code 3 after N s',
    ]);
    expect(t.lines.filter((l) => l.startsWith('attempt '))).toEqual([
      'attempt 1',
      'attempt 1 of 3 exited with code 3; retrying in 0.01 s from the checkpoints in work/job',
      'attempt 2',
      'attempt 2 of 3 exited with code 3; retrying in 0.01 s from the checkpoints in work/job',
      'attempt 3',
    ]);
  });

  it('a missing output is an error naming it', async () => {
    const t = await setup();
    const j = job(t.dir, [], 'true');
    await t.runner.attempts(j, new Map());
    await expect(t.runner.fetch(j)).rejects.toThrow("the job produced no 'out'");
  });

  it('cleanup removes everything and reports the bytes', async () => {
    const t = await setup();
    await t.write('a.txt', 'alpha\n');
    const j = job(t.dir, ['a.txt'], 'mkdir -p out && cp in/a.txt out/a.txt && head -c 1000 /dev/zero > out/big');
    const { hashes } = await t.runner.sync(j);
    await t.runner.attempts(j, hashes);
    const all = await t.backend.list('');
    const total = all.reduce((n, f) => n + f.size, 0);
    expect(total).toBeGreaterThan(1006);
    expect(await t.runner.cleanup()).toBe(total);
    expect(await t.backend.list('')).toEqual([]);
    expect(await t.runner.cleanup()).toBe(0);
  });
});

describe('cmd: stages on executor modal (local stand-in backend)', () => {
  it('a rerun brings back only what this run made: the outs of an earlier run in the job folder are gone first', async () => {
    const t = await setup();
    await t.write(
      'pipeline.yaml',
      [
        'stages:',
        '  split:',
        '    cmd: mkdir -p out && for i in $(seq ${n}); do echo $i > out/$i.txt; done',
        '    executor: modal',
        '    params: [n]',
        '    outs: [out]',
        '',
      ].join('\n'),
    );
    const io = {
      env: { ...process.env, RALLYCUT_CACHE_DIR: join(t.dir, 'cache'), RALLYCUT_PROGRESS: '0', RALLYCUT_MODAL_BACKEND: 'local' },
      err: () => undefined,
      signal: new AbortController().signal,
    };
    const registry = { get: async () => undefined, names: async () => [] };
    await t.write('params/default.yaml', 'n: 2\n');
    expect((await reproduce(t.dir, registry, {}, io)).errors).toEqual([]);
    expect((await fs.readdir(join(t.dir, 'out'))).sort()).toEqual(['1.txt', '2.txt']);
    await t.write('params/default.yaml', 'n: 1\n');
    expect((await reproduce(t.dir, registry, {}, io)).errors).toEqual([]);
    expect(await fs.readdir(join(t.dir, 'out'))).toEqual(['1.txt']);
  });
});

describe('repro with executor: modal, through the SDK against the fake Modal', () => {
  let fake: FakeModal;
  beforeAll(async () => {
    fake = await FakeModal.start();
    Object.assign(process.env, fake.env());
  });
  afterAll(async () => fake.stop());

  it('runs a cmd: stage remotely (a CPU job: a V2 Sandbox, output over the command router) and records its outs', async () => {
    const t = await setup();
    await t.write(
      'pipeline.yaml',
      [
        'stages:',
        '  shout:',
        '    cmd: mkdir -p out && tr a-z A-Z < data/words.txt > out/upper.txt && echo shouted',
        '    executor: {name: modal, retries: 1, volume: shout}',
        '    deps: [data/words.txt]',
        '    outs: [out]',
        '',
      ].join('\n'),
    );
    await t.write('data/words.txt', 'rally\n');
    let log = '';
    const io = {
      env: { ...process.env, RALLYCUT_CACHE_DIR: join(t.dir, 'cache'), RALLYCUT_PROGRESS: '0' },
      err: (s: string) => void (log += s),
      signal: new AbortController().signal,
    };
    const registry = { get: async () => undefined, names: async () => [] };
    const result = await reproduce(t.dir, registry, { executors: { modal: modalExecutor } }, io);
    expect(result.errors, log).toEqual([]);
    expect(readFileSync(join(t.dir, 'out/upper.txt'), 'utf8')).toBe('RALLY\n');
    expect(log).toContain('[shout] backend: modal (app rallycut, volume shout at /data)');
    expect(log).toContain('[shout] uploaded 1 object');
    expect(log).toContain('[shout] shouted');
    expect(readFileSync(join(t.dir, 'pipeline.lock'), 'utf8')).toContain('executor: modal');
    // Without a GPU every Sandbox is a V2 one, the job's included; nothing the fake lacks was called.
    expect(fake.state.calls('SandboxCreate')).toEqual([]);
    expect(fake.state.calls('SandboxCreateV2').length).toBe(3); // helper (upload), job, helper (download)
    expect(fake.state.calls('SandboxStdioReadV2').length).toBeGreaterThan(0);
    expect(fake.state.unexpected).toEqual([]);
  });
});
