// A TypeScript handler stage (temporal) on `executor: modal`, through Modal's real SDK (modal@0.11.1)
// against the FAKE of Modal's cloud (test/services/modal/; Sandboxes are local processes, and the Node
// image's npm packages are this checkout's node_modules). The remote run uses the bundled CLI: dist/cli
// must be built (`npm test` builds first).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';
import { FAKE_TOKEN_SECRET, type FakeModal } from '../services/modal/server.js';
import { fileTree, MODAL_OFF, startFakeForHandlers } from './helpers.js';
import { writeSyntheticProject } from '../../stages/temporal/fixture.js';

const CANARY = 'canary-db-password-4711';

let fake: FakeModal;
beforeAll(async () => {
  fake = await startFakeForHandlers();
});
afterAll(async () => fake?.stop());

const temporalStage = (executor: string): string => `stages:
  temporal:
    handler: temporal
    with: { model: v1, epochs: 3, seed: 5, dataset: synthetic }
    executor: ${executor}
    deps: [features/index.json, training_datasets/synthetic/ground_truth.json]
    outs: [weights/temporal]
    metrics:
      - metrics/temporal.json: { cache: false }
`;

async function project(executor: string): Promise<Rig> {
  const rig = new Rig('rallycut-modal-handler-');
  await writeSyntheticProject(rig.dir, { videos: 3, windows: 60, dim: 8, seed: 3 });
  await rig.write({ 'pipeline.yaml': temporalStage(executor) });
  return rig;
}

describe('a handler stage on executor modal (fake Modal, real SDK)', () => {
  it('runs remotely from the bundled CLI, gives the local bytes, and is restored from the cache without Modal', async () => {
    const volume = `h-${randomBytes(4).toString('hex')}`;
    const local = await project('local');
    const remote = await project(`{ name: modal, volume: ${volume}, retries: 0, gpu: T4 }`);
    try {
      const l = await local.run(['repro']);
      expect(l.code, l.stderr).toBe(0);
      const from = fake.state.log.length;
      const r = await remote.run(['repro'], { DATABASE_URL: `postgres://u:${CANARY}@db/x` });
      expect(r.code, r.stderr).toBe(0);
      // It ran in a Sandbox (a Node image with the npm packages, the GPU passed through), not here.
      const creates = fake.state.log.slice(from).filter((c) => c.method === 'SandboxCreate' || c.method === 'SandboxCreateV2');
      const job = creates.map((c) => JSON.stringify(c.request)).find((t) => t.includes('stage-run'));
      expect(job, 'a Sandbox ran rallycut stage-run').toBeDefined();
      expect(job).toContain('T4');
      const sandbox = [...fake.state.sandboxes.values()].find((s) => s.spec.command.join(' ').includes('stage-run'));
      expect(sandbox?.spec.env.RALLYCUT_GPU).toBe('T4'); // for a GPU inference provider inside the job
      expect([...fake.state.images.values()].some((i) => i.dockerfileCommands.some((c) => /npm install .*onnxruntime-node@/.test(c)))).toBe(true);
      expect(r.stderr).toMatch(/\[temporal\] uploaded \d+ objects/);
      expect(r.stderr).toMatch(/\[temporal\] downloaded and verified \d+ files/);

      // Same bytes as the local run; the same lock but for the executor's own field.
      expect(await fileTree(join(remote.dir, 'weights/temporal'))).toEqual(await fileTree(join(local.dir, 'weights/temporal')));
      expect(remote.read('metrics/temporal.json')).toBe(local.read('metrics/temporal.json'));
      expect(remote.read('pipeline.lock').replace(/^ {4}executor: modal\n/m, '')).toBe(local.read('pipeline.lock'));
      expect(remote.read('pipeline.lock')).toMatch(/^ {4}executor: modal$/m);

      // No secret in any argument, log or lock: neither Modal's token nor the database password.
      const seen = [
        JSON.stringify(fake.state.log),
        r.stderr,
        r.stdout,
        remote.read('pipeline.lock'),
        JSON.stringify(await fileTree(join(remote.dir, '.cache', 'runs'))),
      ].join('\n');
      for (const secret of [FAKE_TOKEN_SECRET, CANARY]) expect(seen).not.toContain(secret);
      for (const sb of fake.state.sandboxes.values()) expect(JSON.stringify(sb.spec)).not.toContain(CANARY);

      // Afterwards, without Modal (no credentials, no server): a deleted out comes back from the cache.
      await remote.remove('weights/temporal');
      const before = fake.state.log.length;
      const again = await remote.run(['repro'], MODAL_OFF);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain('[temporal] restored from cache, not run');
      expect(fake.state.log.length).toBe(before);
      expect(await fileTree(join(remote.dir, 'weights/temporal'))).toEqual(await fileTree(join(local.dir, 'weights/temporal')));
    } finally {
      await local.cleanup();
      await remote.cleanup();
    }
  });
});
