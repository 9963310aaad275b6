// A foreach stage on `executor: modal`: its items as parallel Sandboxes, through Modal's real SDK against
// the FAKE of Modal's cloud (test/services/modal/; Sandboxes are local processes). Covers the concurrency
// option (past -j), a preempted item retried, the max_sandboxes budget, --dry's estimate, and Ctrl-C in the
// middle of a fan-out terminating every Sandbox it started (the fake's RPC log as the proof).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';
import { FakeModal } from '../services/modal/server.js';
import { GENERIC_STATUS } from '../services/modal/sandbox.js';
import { REPO } from './helpers.js';

const ITEMS = ['a', 'b', 'c', 'd', 'e', 'f'];

let fake: FakeModal;
beforeAll(async () => {
  fake = await FakeModal.start();
  Object.assign(process.env, fake.env());
});
afterAll(async () => fake?.stop());

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.cleanup();
  expect(fake.state.unexpected).toEqual([]);
});

/** Job Sandboxes (not the transfer helper, which has no entrypoint) created since log index `from`. */
const jobSandboxes = () => [...fake.state.sandboxes.values()].filter((s) => s.spec.command.length > 0);

async function fanout(body: string, executor: string): Promise<Rig> {
  const rig = new Rig('rallycut-modal-fanout-');
  rigs.push(rig);
  await rig.write({
    'pipeline.yaml': `stages:
  item:
    foreach: [${ITEMS.join(', ')}]
    do:
      cmd: ${body}
      executor: ${executor}
      outs: ["out/\${item}.txt"]
`,
  });
  return rig;
}

describe('foreach on executor modal (fake Modal, real SDK)', () => {
  it('runs 6 items as concurrent Sandboxes past -j 1; a preempted item is retried; the outs are the items', async () => {
    const volume = `f-${randomBytes(4).toString('hex')}`;
    // Every item waits until all six have started: with fewer than six Sandboxes at once none finishes.
    const barrier = mkdtempSync(join(tmpdir(), 'rallycut-barrier-'));
    const rig = await fanout(
      `echo work \${item} && touch ${barrier}/\${item} && until [ "$(ls ${barrier} | wc -l)" -ge 6 ]; do sleep 0.05; done && mkdir -p out && echo \${item} > out/\${item}.txt`,
      `{ name: modal, volume: ${volume}, concurrency: 6, retries: 1, timeout: 120 }`,
    );
    fake.preemptOn(/^work c$/);
    const before = jobSandboxes().length;
    const r = await rig.run(['repro', '-j', '1']);
    await fs.rm(barrier, { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(0);
    for (const i of ITEMS) expect(rig.read(`out/${i}.txt`)).toBe(`${i}\n`);
    // Preempted on its first line: the SDK's output stream ends with NOT_FOUND (the Sandbox is gone).
    expect(r.stderr).toMatch(/\[item@c\] attempt 1 of 2 .*Sandbox .* was terminated; retrying/);
    expect(r.stderr).toContain('[item@c] attempt 2 of 2 succeeded');
    const started = jobSandboxes().slice(before);
    expect(started.length).toBe(7); // six items, one of them twice
    expect(started.filter((s) => s.result?.status === GENERIC_STATUS.TERMINATED).length).toBe(1);
  });

  it('max_sandboxes stops the fan-out at its budget, naming it', async () => {
    const volume = `b-${randomBytes(4).toString('hex')}`;
    const rig = await fanout('mkdir -p out && echo ${item} > out/${item}.txt', `{ name: modal, volume: ${volume}, max_sandboxes: 4, retries: 0 }`);
    const before = jobSandboxes().length;
    const r = await rig.run(['repro', '-j', '1', '--keep-going']);
    expect(r.code).toBe(1);
    expect(jobSandboxes().length - before).toBe(4);
    expect(r.stderr).toContain("the sandbox budget of stage 'item' is spent: max_sandboxes 4 were started in this repro");
    expect(ITEMS.filter((i) => rig.exists(`out/${i}.txt`)).length).toBe(4);
  });

  it('--dry shows what would be uploaded and the sandbox-hours at which GPU, starting nothing', async () => {
    const volume = `d-${randomBytes(4).toString('hex')}`;
    const rig = await fanout('mkdir -p out && cat in.txt > out/${item}.txt', `{ name: modal, volume: ${volume}, gpu: A10G, timeout: 30m }`);
    await rig.write({ 'in.txt': 'x'.repeat(1000) });
    const yaml = rig.read('pipeline.yaml').replace('      outs:', '      deps: [in.txt]\n      outs:');
    await rig.write({ 'pipeline.yaml': yaml });
    const before = fake.state.log.length;
    const r = await rig.run(['repro', '--dry']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'modal: 6 stages would start 6 sandboxes (up to 18 with retries); at most 9.0 sandbox-hours at GPU A10G; upload at most 1 file (1.0 kB) by content hash',
    );
    expect(fake.state.log.length).toBe(before);
  });

  it('Ctrl-C in the middle of a fan-out terminates every Sandbox it started', async () => {
    const volume = `c-${randomBytes(4).toString('hex')}`;
    const rig = await fanout('echo started ${item} && sleep 300', `{ name: modal, volume: ${volume}, concurrency: 6, retries: 0 }`);
    const before = new Set(fake.state.sandboxes.keys());
    const child = spawn(process.execPath, [join(REPO, 'bin', 'rallycut'), 'repro', '-j', '1'], {
      cwd: rig.dir,
      env: rig.env({ ...fake.env(), RALLYCUT_FROM_SOURCE: '1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const allStarted = new Promise<void>((resolveStarted, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (ITEMS.every((i) => stderr.includes(`[item@${i}] started ${i}`))) resolveStarted();
      });
      child.on('close', () => reject(new Error(`rallycut exited before every item started:\n${stderr}`)));
    });
    await allStarted;
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).not.toBe(0);
    const mine = [...fake.state.sandboxes.values()].filter((s) => !before.has(s.spec.id) && s.spec.command.length > 0);
    expect(mine.length).toBe(6);
    for (const sb of mine) expect(sb.result?.status, sb.spec.id).toBe(GENERIC_STATUS.TERMINATED);
    const terminated = new Set(
      fake.state.log.filter((c) => c.method.startsWith('SandboxTerminate')).map((c) => (c.request as { sandboxId?: string }).sandboxId),
    );
    for (const sb of mine) expect(terminated.has(sb.spec.id), `SandboxTerminate for ${sb.spec.id}`).toBe(true);
  });
});
