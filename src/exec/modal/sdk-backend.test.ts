// The Modal backend through the real SDK (modal@0.11.1) against the FAKE of Modal's control plane and
// command router (test/services/modal/): every call our backend makes travels over gRPC on 127.0.0.1, and
// the fake runs the Sandboxes as local processes. What only a real Modal account shows (image builds, GPUs,
// quotas) is out of reach here; see the README's Modal section.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Status } from 'nice-grpc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TOKEN_SECRET, FakeModal } from '../../../test/services/modal/server.js';
import type { JobSpec } from './backend.js';
import { ModalSdkBackend } from './sdk-backend.js';

let fake: FakeModal;
const backends: ModalSdkBackend[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  fake = await FakeModal.start();
  // modal@0.11.1 reads its server and token only from process.env (ModalClientParams.endpoint is unused).
  Object.assign(process.env, fake.env());
  fake.addSecret('wandb', { WANDB_PROJECT: 'rallycut-fake' });
});
afterAll(async () => fake.stop());
afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
  // Every RPC the backend made is one the fake implements (an unknown one would be listed by name).
  expect(fake.state.unexpected).toEqual([]);
});

function backend(volume = `vol-${randomBytes(3).toString('hex')}`): ModalSdkBackend {
  const b = new ModalSdkBackend(volume);
  backends.push(b);
  return b;
}

function tmp(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'rallycut-sdk-')));
  dirs.push(d);
  return d;
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function jobSpec(script: string, extra: Partial<JobSpec> = {}): JobSpec {
  return { script, env: {}, image: { base: 'python:3.11-slim', pip: [] }, timeoutMs: 60_000, secrets: [], ...extra };
}

/** The log entries since `from`, as 'Method CODE'. */
function calls(from = 0): string[] {
  return fake.state.log.slice(from).map((r) => `${r.method} ${r.code}`);
}

describe('ModalSdkBackend through modal@0.11.1 against the fake control plane', () => {
  it('moves files by content hash through a helper Sandbox with the Volume at /data', async () => {
    const b = backend('files');
    const dir = tmp();
    const bytes = randomBytes(70_000);
    await fs.writeFile(join(dir, 'in.bin'), bytes);
    await b.checkCredentials();
    expect(await b.list('objects')).toEqual([]);
    await b.upload(join(dir, 'in.bin'), `objects/${sha(bytes)}`);
    await b.upload(join(dir, 'in.bin'), 'notes/copy.bin');
    expect(await b.list('objects')).toEqual([{ path: sha(bytes), size: 70_000 }]);
    await b.download(`objects/${sha(bytes)}`, join(dir, 'back', 'out.bin'));
    expect(readFileSync(join(dir, 'back', 'out.bin')).equals(bytes)).toBe(true);

    // The helper's writes reach the Volume (and any other Sandbox) only when it exits: a job Sandbox does that.
    const volume = fake.state.volumeNamed('files')!;
    expect(await volume.files()).toEqual([]);
    const lines: string[] = [];
    expect(await b.run(jobSpec('ls "$RALLYCUT_VOLUME/objects"; cat "$RALLYCUT_VOLUME/notes/copy.bin" | sha256sum'), (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual([sha(bytes), `${sha(bytes)}  -`]);
    expect(await volume.files()).toEqual([`notes/copy.bin`, `objects/${sha(bytes)}`]);

    // The helper Sandbox: cheap image, the Volume mounted at /data, workdir /data, every exec run there.
    const helper = fake.state.calls('SandboxCreateV2')[0]!.request as {
      definition: { workdir: string; volumeMounts: { mountPath: string; volumeId: string }[] };
    };
    expect(helper.definition.workdir).toBe('/data');
    expect(helper.definition.volumeMounts).toEqual([expect.objectContaining({ mountPath: '/data', volumeId: volume.id })]);
    const execs = fake.state.calls('TaskExecStart').map((r) => r.request as { workdir?: string; commandArgs: string[] });
    expect(execs.filter((e) => e.commandArgs[0] === 'sh').every((e) => e.workdir === '/data')).toBe(true);
    // The file ops go through the SDK's filesystem tool with absolute /data paths.
    expect(execs.some((e) => e.commandArgs[1]?.includes(`"WriteFile":{"path":"/data/objects/${sha(bytes)}.partial-`))).toBe(true);
    // Uploaded under a temporary name and renamed only after the sha256 matched.
    expect(execs.some((e) => e.commandArgs[2]?.includes(`sha256sum -c --status`))).toBe(true);

    // remove() reports the bytes, and its helper exits so the deletion is committed.
    expect(await b.remove(['objects', 'missing'])).toBe(70_000);
    expect(await volume.files()).toEqual(['notes/copy.bin']);
  });

  it('runs the job with the image, GPU, memory, timeout, mount and secrets it asked for, and streams its output', async () => {
    const b = backend('jobs');
    const start = fake.state.log.length;
    const lines: string[] = [];
    const code = await b.run(
      jobSpec('echo "project=$WANDB_PROJECT attempt=$RALLYCUT_ATTEMPT volume=$RALLYCUT_VOLUME"; echo to-stderr >&2; exit 3', {
        env: { RALLYCUT_ATTEMPT: '2' },
        image: { base: 'python:3.11-slim', pip: ['torch==2.4.1', 'numpy==1.26.4'] },
        gpu: 'T4',
        memoryMiB: 16384,
        timeoutMs: 4 * 3600_000,
        secrets: ['wandb'],
      }),
      (l) => lines.push(l),
    );
    expect(code).toBe(3);
    const volume = fake.state.volumeNamed('jobs')!;
    expect(lines).toContain('project=rallycut-fake attempt=2 volume=' + join([...fake.state.sandboxes.values()].at(-1)!.dir, 'mount-0'));
    expect(lines).toContain('to-stderr');

    const images = fake.state.calls('ImageGetOrCreate').map((r) => (r.request as { image: { dockerfileCommands: string[] } }).image.dockerfileCommands);
    expect(images).toContainEqual(['FROM python:3.11-slim']);
    expect(images).toContainEqual(['FROM base', 'RUN python3 -m pip install --no-cache-dir numpy==1.26.4 torch==2.4.1']);
    const create = fake.state.calls('SandboxCreate').at(-1)!.request as {
      definition: {
        timeoutSecs: number;
        workdir: string;
        resources: { memoryMb: number; gpuConfig: { gpuType: string; count: number } };
        volumeMounts: { mountPath: string; volumeId: string }[];
        secretIds: string[];
        entrypointArgs: string[];
      };
    };
    expect(create.definition).toMatchObject({
      timeoutSecs: 4 * 3600,
      workdir: '/data',
      resources: { memoryMb: 16384, gpuConfig: { gpuType: 'T4', count: 1 } },
    });
    expect(create.definition.volumeMounts).toEqual([expect.objectContaining({ mountPath: '/data', volumeId: volume.id })]);
    expect(create.definition.secretIds).toContain('st-wandb');
    expect(create.definition.entrypointArgs.slice(0, 2)).toEqual(['sh', '-c']);
    // Lookups before the create; the output read to its end before the exit code is taken.
    const order = calls(start);
    expect(order.indexOf('SecretGetOrCreate OK')).toBeLessThan(order.indexOf('SandboxCreate OK'));
    expect(order.indexOf('VolumeGetOrCreate OK')).toBeLessThan(order.indexOf('SandboxCreate OK'));
    expect(order).toContain('SandboxGetLogs OK');
    expect(order).toContain('SandboxWait OK');
    // The Modal token secret travels only in metadata: never in a request, never in the job's output.
    expect(JSON.stringify(fake.state.log)).not.toContain(FAKE_TOKEN_SECRET);
    expect(lines.join('\n')).not.toContain(FAKE_TOKEN_SECRET);
  });

  it('a preempted Sandbox exits 137, as the SDK reports a terminated one', async () => {
    const b = backend('preempt');
    fake.preemptOn(/^step 2$/);
    const lines: string[] = [];
    const code = await b.run(jobSpec('for i in 1 2 3 4 5 6 7 8 9; do echo "step $i"; sleep 0.2; done'), (l) => lines.push(l));
    expect(code).toBe(137);
    expect(lines).toContain('step 1');
    expect(lines).not.toContain('step 9');
  });

  it('an abort (Ctrl-C) terminates the running Sandbox', async () => {
    const b = backend('abort');
    const ctl = new AbortController();
    const lines: string[] = [];
    const code = await b.run(jobSpec('echo started; sleep 30; echo finished', { signal: ctl.signal }), (l) => {
      lines.push(l);
      if (l === 'started') ctl.abort();
    });
    expect(code).toBe(137);
    expect(lines).toEqual(['started']);
    expect(fake.state.calls('SandboxTerminateV2').at(-1)!.code).toBe('OK');
  });

  it('retries RPCs answered UNAVAILABLE, with the same idempotency key and a growing attempt number', async () => {
    const b = backend('flaky');
    const start = fake.state.log.length;
    fake.fail('VolumeGetOrCreate', Status.UNAVAILABLE, Status.UNAVAILABLE);
    fake.fail('SandboxCreateV2', Status.UNAVAILABLE);
    expect(await b.list('objects')).toEqual([]);
    const vol = fake.state.log.slice(start).filter((r) => r.method === 'VolumeGetOrCreate');
    expect(vol.map((r) => [r.code, r.retryAttempt])).toEqual([
      ['UNAVAILABLE', '0'],
      ['UNAVAILABLE', '1'],
      ['OK', '2'],
    ]);
    expect(new Set(vol.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(calls(start).filter((c) => c.startsWith('SandboxCreateV2'))).toEqual(['SandboxCreateV2 UNAVAILABLE', 'SandboxCreateV2 OK']);
  });

  it('an upload whose stream drops halfway resumes where the fake says it stopped; the file arrives whole', async () => {
    const b = backend('resume-upload');
    const dir = tmp();
    const bytes = randomBytes(600_000);
    await fs.writeFile(join(dir, 'big.bin'), bytes);
    const start = fake.state.log.length;
    fake.breakUpload(300_000, 'resumable');
    await b.upload(join(dir, 'big.bin'), `objects/${sha(bytes)}`);
    expect(calls(start).filter((c) => /StdinWriteStream|StdinStatus/.test(c))).toEqual([
      'TaskExecStdinWriteStream UNAVAILABLE',
      'TaskExecStdinStatus OK',
      'TaskExecStdinWriteStream OK',
    ]);
    await b.download(`objects/${sha(bytes)}`, join(dir, 'back.bin'));
    expect(readFileSync(join(dir, 'back.bin')).equals(bytes)).toBe(true);
  });

  it('an upload that fails halfway leaves nothing under the content-hash name', async () => {
    const b = backend('broken-upload');
    const dir = tmp();
    const bytes = randomBytes(400_000);
    await fs.writeFile(join(dir, 'big.bin'), bytes);
    fake.breakUpload(100_000, 'fatal');
    await expect(b.upload(join(dir, 'big.bin'), `objects/${sha(bytes)}`)).rejects.toThrow(/No space left on device/);
    expect(await b.list('objects')).toEqual([]);
    await b.upload(join(dir, 'big.bin'), `objects/${sha(bytes)}`);
    expect(await b.list('objects')).toEqual([{ path: sha(bytes), size: 400_000 }]);
  });

  it('expired tokens are refreshed: the control-plane token before its exp, the router JWT on UNAUTHENTICATED', async () => {
    // Tokens that live 2 s: the fake refuses them after that, so a call 2.5 s later works only because the
    // SDK fetched new ones.
    fake.state.tokenTtlSecs = 2;
    try {
      const b = backend('tokens');
      expect(await b.list('objects')).toEqual([]);
      await new Promise((r) => setTimeout(r, 2500));
      const start = fake.state.log.length;
      expect(await b.list('objects')).toEqual([]);
      const later = fake.state.log.slice(start);
      expect(later.filter((r) => r.method === 'AuthTokenGet').length).toBe(1);
      expect(later.filter((r) => r.service === 'ModalClient' && r.code !== 'OK')).toEqual([]);
      const order = calls(start);
      const refused = order.findIndex((c) => c.endsWith('UNAUTHENTICATED'));
      expect(order[refused]).toMatch(/^TaskExec\w+ UNAUTHENTICATED$/);
      expect(order.slice(refused + 1)).toContain('SandboxGetCommandRouterAccess OK');
    } finally {
      fake.state.tokenTtlSecs = 3600;
    }
  });
});
