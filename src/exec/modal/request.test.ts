// Request building for Modal's SDK and executor option parsing: pure, no network, no credentials.
import { describe, expect, it } from 'vitest';
import type { RallycutError } from '../../diagnostics.js';
import { jobScript, parseOutsManifest } from './job.js';
import { resolveSettings } from './options.js';
import { buildSandboxRequest, imageCommands, shellQuote } from './request.js';

const where = { subject: 'train', file: 'pipeline.yaml', start: { line: 3, column: 5 } };

describe('resolveSettings', () => {
  it('applies the seed-like defaults a job brings, and stage options over them', () => {
    const s = resolveSettings(
      { gpu: 'A10G', timeout: '30m', pip: ['rich==13.7.1'] },
      { gpu: 'T4', timeout: 14400, memory: 16384, pip: ['torch==2.4.1'] },
      where,
    );
    expect(s).toEqual({
      volume: 'rallycut-training',
      image: { base: 'python:3.11-slim', pip: ['torch==2.4.1', 'rich==13.7.1'] },
      gpu: 'A10G',
      timeoutMs: 1_800_000,
      memoryMiB: 16384,
      retries: 2,
      secrets: [],
      env: {},
    });
  });

  it('parses units and interpolated strings', () => {
    const s = resolveSettings({ timeout: '4h', memory: '16Gi', retries: '0', cpu: '2', volume: 'my-vol', env: { A: 1 }, secrets: ['hf'] }, {}, where);
    expect([s.timeoutMs, s.memoryMiB, s.retries, s.cpu, s.volume, s.env, s.secrets]).toEqual([14_400_000, 16384, 0, 2, 'my-vol', { A: '1' }, ['hf']]);
    expect(resolveSettings({ timeout: 90, memory: 512 }, {}, where).timeoutMs).toBe(90_000);
  });

  it('names the stage, option and place of a bad value', () => {
    const err = (() => {
      try {
        resolveSettings({ timeout: 'soon' }, {}, where);
      } catch (e) {
        return e as RallycutError;
      }
      throw new Error('no error');
    })();
    expect(err.diagnostics[0]).toMatchObject({
      kind: 'config',
      message: `executor option 'timeout' of stage 'train' must be seconds or a duration like "90s", "30m", "4h", got "soon"`,
      file: 'pipeline.yaml',
      start: { line: 3, column: 5 },
    });
    expect(() => resolveSettings({ memory: '16 bananas' }, {}, where)).toThrow(/executor option 'memory'/);
    expect(() => resolveSettings({ retries: 11 }, {}, where)).toThrow(/'retries' .* from 0 to 10/);
    expect(() => resolveSettings({ gpus: 'T4' }, {}, where)).toThrow(/executor option 'gpus' .*unknown option/);
    expect(() => resolveSettings({ volume: 'a/b' }, {}, where)).toThrow(/'volume'/);
  });
});

describe('Sandbox request', () => {
  it('builds the image from the registry tag plus one sorted pip layer', () => {
    expect(imageCommands({ base: 'python:3.11-slim', pip: [] })).toEqual([]);
    expect(imageCommands({ base: 'x', pip: ['transformers==4.44.2', 'torch==2.4.1', 'numpy<2'] })).toEqual([
      "RUN python3 -m pip install --no-cache-dir 'numpy<2' torch==2.4.1 transformers==4.44.2",
    ]);
  });

  it('passes gpu, timeout, memory, env and the volume mount', () => {
    const req = buildSandboxRequest(
      {
        script: 'echo hi',
        env: { A: '1' },
        image: { base: 'python:3.11-slim', pip: ['torch==2.4.1'] },
        gpu: 'T4',
        timeoutMs: 14_400_000,
        memoryMiB: 16384,
        secrets: ['hf-token'],
      },
      'rallycut-training',
    );
    expect(req).toEqual({
      imageTag: 'python:3.11-slim',
      dockerfileCommands: ['RUN python3 -m pip install --no-cache-dir torch==2.4.1'],
      params: {
        command: ['sh', '-c', 'echo hi'],
        env: { A: '1', RALLYCUT_VOLUME: '/data' },
        timeoutMs: 14_400_000,
        workdir: '/data',
        gpu: 'T4',
        memoryMiB: 16384,
      },
      volumeName: 'rallycut-training',
      volumeMount: '/data',
      secretNames: ['hf-token'],
    });
    const cpu = buildSandboxRequest({ script: 'x', env: {}, image: { base: 'b', pip: [] }, timeoutMs: 1000, secrets: [] }, 'v');
    expect(cpu.params).toEqual({ command: ['sh', '-c', 'x'], env: { RALLYCUT_VOLUME: '/data' }, timeoutMs: 1000, workdir: '/data' });
  });

  it('quotes for the shell', () => {
    expect(shellQuote('plain-1.0')).toBe('plain-1.0');
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
  });
});

describe('job script', () => {
  it('links inputs from objects/, runs the command, hashes the outputs', () => {
    const script = jobScript(
      {
        name: 'modal-train-beach',
        inputs: [{ local: '/x/p.json', path: 'data/p.json' }],
        command: "python3 train.py --name 'a b'",
        outputs: [{ path: 'output/model', local: '/x/m' }],
        clean: ['output/checkpoints'],
      },
      new Map([['data/p.json', 'ab'.repeat(32)]]),
    );
    expect(script).toContain('W="$RALLYCUT_VOLUME/work/modal-train-beach"');
    expect(script).toContain('rm -rf output/checkpoints');
    expect(script).toContain(`ln -sfn "$RALLYCUT_VOLUME/objects/${'ab'.repeat(32)}" data/p.json`);
    expect(script).toContain(`sh -c 'python3 train.py --name '\\''a b'\\'''`);
    expect(script).toMatch(/find output\/model -type f .*sha256sum > \.rallycut\/outs\.sha256\.tmp/);
    expect(() => jobScript({ name: 'j', inputs: [{ local: '/x', path: '../escape' }], command: 'true', outputs: [] }, new Map())).toThrow(/must be relative/);
  });

  it('parses sha256sum output', () => {
    const h = 'c'.repeat(64);
    expect([...parseOutsManifest(`${h}  output/model/a b.txt\n${h} *output/x\nnoise\n`)]).toEqual([
      ['output/model/a b.txt', h],
      ['output/x', h],
    ]);
  });
});
