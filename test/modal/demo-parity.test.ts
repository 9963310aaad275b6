// The demo pipeline with extract-features and temporal on `executor: modal` gives the local run's bytes:
// features/index.json, the feature store, the temporal weights and metrics, and the lock but for the
// executor's field. Through Modal's real SDK against the FAKE of Modal's cloud (test/services/modal/;
// Sandboxes are local processes, the Node image's packages are this checkout's node_modules, ffmpeg is
// this machine's). Made small to fit a test: 2 demo videos of 20–22 s and 5 temporal epochs (the real demo
// has 6 videos of 70–110 s and 50 epochs). Needs dist/cli (`npm test` builds first).
import { cpSync, promises as fs, readFileSync, realpathSync, mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { FakeModal } from '../services/modal/server.js';
import { fileTree, MODAL_OFF, REPO, startFakeForHandlers } from './helpers.js';

let fake: FakeModal;
let work: string;
beforeAll(async () => {
  fake = await startFakeForHandlers();
  work = realpathSync(mkdtempSync(join(tmpdir(), 'rallycut-demo-parity-')));
});
afterAll(async () => {
  await fake?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

async function cli(cwd: string, args: string[], extra: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, RALLYCUT_PROGRESS: '0', SOURCE_DATE_EPOCH: '1767225600', ...extra };
  delete env.DATABASE_URL; // the demo's embedded database, in the project's cache
  delete env.RALLYCUT_CACHE_DIR;
  let stderr = '';
  const code = await main(args, { cwd, env, out: () => undefined, err: (t) => void (stderr += t), isTTY: false, signal: new AbortController().signal });
  return { code, stderr };
}

describe('demo pipeline with extract-features and temporal on modal (fake Modal, real SDK)', () => {
  it('gives byte-identical features, weights, metrics and lock to the local run', { timeout: 600_000 }, async () => {
    const base = join(work, 'base');
    await fs.mkdir(base);
    cpSync(join(REPO, 'pipeline.yaml'), join(base, 'pipeline.yaml'));
    cpSync(join(REPO, 'params'), join(base, 'params'), { recursive: true });
    cpSync(join(REPO, 'weights'), join(base, 'weights'), { recursive: true });
    await fs.writeFile(
      join(base, 'params', 'default.yaml'),
      readFileSync(join(base, 'params', 'default.yaml'), 'utf8').replace(/^ {2}epochs: 50$/m, '  epochs: 5'),
    );
    const init = await cli(base, ['demo', 'init', '--videos', '2', '--min-seconds', '20', '--max-seconds', '22']);
    expect(init.code, init.stderr).toBe(0);
    const prep = await cli(base, ['repro', 'prepare']);
    expect(prep.code, prep.stderr).toBe(0);

    const local = join(work, 'local');
    const remote = join(work, 'remote');
    cpSync(base, local, { recursive: true });
    cpSync(base, remote, { recursive: true });
    const volume = `demo-${randomBytes(4).toString('hex')}`;
    const onModal = readFileSync(join(remote, 'pipeline.yaml'), 'utf8').replace(
      /^( {4}handler: (extract-features|temporal)\n)/gm,
      `$1    executor: { name: modal, volume: ${volume}, retries: 0, gpu: T4 }\n`,
    );
    expect(onModal.match(/executor: \{ name: modal, volume/g)?.length).toBe(2);
    await fs.writeFile(join(remote, 'pipeline.yaml'), onModal);

    const l = await cli(local, ['repro', 'temporal']);
    expect(l.code, l.stderr).toBe(0);
    const from = fake.state.log.length;
    const r = await cli(remote, ['repro', 'temporal']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[extract-features\] downloaded and verified \d+ files/);
    expect(r.stderr).toMatch(/\[temporal\] downloaded and verified \d+ files/);
    const jobs = fake.state.log.slice(from).filter((c) => c.method.startsWith('SandboxCreate') && JSON.stringify(c.request).includes('stage-run'));
    expect(jobs.length).toBe(2);

    expect(readFileSync(join(remote, 'features/index.json'), 'utf8')).toBe(readFileSync(join(local, 'features/index.json'), 'utf8'));
    expect(await fileTree(join(remote, '.cache/features'))).toEqual(await fileTree(join(local, '.cache/features')));
    expect(await fileTree(join(remote, 'weights/temporal'))).toEqual(await fileTree(join(local, 'weights/temporal')));
    expect(readFileSync(join(remote, 'metrics/temporal.json'), 'utf8')).toBe(readFileSync(join(local, 'metrics/temporal.json'), 'utf8'));
    const lock = (dir: string): string => readFileSync(join(dir, 'pipeline.lock'), 'utf8');
    expect(lock(remote).replace(/^ {4}executor: modal\n/gm, '')).toBe(lock(local));

    // The feature store came back filled: a local stage downstream reads it, with Modal unreachable.
    const before = fake.state.log.length;
    const ev = await cli(remote, ['repro', 'evaluate-heuristics'], MODAL_OFF);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stderr).toContain('[evaluate-heuristics] running');
    expect(fake.state.log.length).toBe(before);
  });
});
