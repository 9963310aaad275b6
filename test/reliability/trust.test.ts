// Cache trust and records (issue #21): nothing read back from the cache folder or an experiment record is
// used unless it is verified first. A tampered folder manifest is refused by checkout.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ObjectCache } from '../../src/cache/objects.js';
import { objectKey } from '../../src/cache/remote-layout.js';
import { resolveNamedRemote } from '../../src/remote/named.js';
import type { Remote } from '../../src/remote/remote.js';
import { freshBucket } from '../services/fresh.js';
import { Rig } from '../rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.cleanup();
});

async function freshRig(files: Record<string, string>): Promise<Rig> {
  const rig = new Rig('rallycut-trust-');
  rigs.push(rig);
  await rig.write(files);
  return rig;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const objectIn = (cache: string, hash: string, suffix = ''): string => join(cache, 'objects', hash.slice(0, 2), hash.slice(2) + suffix);
const objectFile = (rig: Rig, hash: string, suffix = ''): string => objectIn(join(rig.dir, '.cache'), hash, suffix);

describe('a tampered folder manifest in the cache', () => {
  it('is refused by checkout; no injected file is restored', async () => {
    const rig = await freshRig({
      'pipeline.yaml': 'stages:\n  d:\n    cmd: mkdir -p d && echo one > d/one.txt\n    outs: [d]\n',
    });
    expect((await rig.run(['repro'])).code).toBe(0);
    const lock = rig.read('pipeline.lock');
    const dirHash = /path: d\n\s+sha256: ([0-9a-f]{64})/.exec(lock)?.[1] ?? /sha256: ([0-9a-f]{64})/.exec(lock)?.[1];
    expect(dirHash).toBeDefined();
    const manifest = objectFile(rig, dirHash!, '.dir');
    const text = await fs.readFile(manifest, 'utf8');
    // Inject an entry for a file the folder never had, pointing at an object that is in the cache.
    const injected = text.replace('[\n', `[\n{"path":"evil.sh","sha256":"${sha('one\n')}","size":4,"isexec":true},\n`);
    await fs.chmod(manifest, 0o644);
    await fs.writeFile(manifest, injected);
    await rig.remove('d');
    const co = await rig.run(['checkout']);
    expect(co.code).not.toBe(0);
    expect(co.stderr).toContain('d (d): not in the cache'); // the bad manifest was dropped on read
    expect(rig.exists('d/evil.sh')).toBe(false);
    // The bad manifest is gone: repro rebuilds the folder and stores a good one.
    const re = await rig.run(['repro']);
    expect(re.code, re.stderr).toBe(0);
    expect(rig.read('d/one.txt')).toBe('one\n');
    expect(sha(await fs.readFile(manifest, 'utf8'))).toBe(dirHash);
  });
});

// Experiments: records are data; a path in one never reaches outside exp-workspaces/ or params/.
const EXP_PROJECT = {
  'pipeline.yaml': 'stages:\n  a:\n    cmd: echo ${train.lr} > a.txt\n    params: [train.lr]\n    outs: [a.txt]\n',
  'params/default.yaml': 'train:\n  lr: 0.001\n',
};

async function queuedExperiment(rig: Rig, name: string): Promise<{ file: string; rec: Record<string, unknown> }> {
  const q = await rig.run(['exp', 'run', '--queue', '-n', name, '-S', 'train.lr=0.5']);
  expect(q.code, q.stderr).toBe(0);
  const file = join(rig.dir, '.cache', 'exps', `${name}.json`);
  return { file, rec: JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown> };
}

describe('experiment records are validated before use', () => {
  it('exp remove refuses a record whose workspace is not under exp-workspaces/, deleting nothing', async () => {
    const rig = await freshRig(EXP_PROJECT);
    const victim = await freshRig({ 'precious.txt': 'keep me\n' });
    const { file, rec } = await queuedExperiment(rig, 'x');
    await fs.writeFile(file, JSON.stringify({ ...rec, workspace: victim.dir }));
    const res = await rig.run(['exp', 'remove', 'x']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("experiment record 'x' is not valid: workspace");
    expect(victim.read('precious.txt')).toBe('keep me\n');
  });

  it('exp apply refuses an override file outside params/, writing nothing', async () => {
    const rig = await freshRig(EXP_PROJECT);
    const victim = await freshRig({ 'victim.yaml': 'train:\n  lr: 1\n' });
    const { file, rec } = await queuedExperiment(rig, 'x');
    const escape = `params/../${relative(rig.dir, join(victim.dir, 'victim.yaml'))}`;
    const overrides = [{ file: escape, key: 'train.lr', value: 99 }];
    await fs.writeFile(file, JSON.stringify({ ...rec, overrides }));
    const res = await rig.run(['exp', 'apply', 'x']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`override file '${escape}' is not a YAML file under params/`);
    expect(victim.read('victim.yaml')).toBe('train:\n  lr: 1\n');
  });

  it('a running experiment whose process is gone shows as failed, not running forever', async () => {
    const rig = await freshRig(EXP_PROJECT);
    const { file, rec } = await queuedExperiment(rig, 'x');
    const dead = spawnSync('true').pid;
    await fs.writeFile(file, JSON.stringify({ ...rec, status: 'running', started: new Date().toISOString(), owner: { pid: dead } }));
    const rowOf = async (): Promise<Record<string, unknown> | undefined> =>
      (JSON.parse((await rig.run(['exp', 'show', '--json'])).stdout) as { rows: Record<string, unknown>[] }).rows.find(
        (r) => r.Experiment === 'x' || Object.values(r).includes('x'),
      );
    expect(JSON.stringify(await rowOf())).toContain('"failed"');
    // A live owner (this test process) is still running.
    await fs.writeFile(file, JSON.stringify({ ...rec, status: 'running', started: new Date().toISOString(), owner: { pid: process.pid } }));
    expect(JSON.stringify(await rowOf())).toContain('"running"');
  });

  it('of four concurrent `exp run -n same`, exactly one runs; the others say the name is taken', async () => {
    const rig = await freshRig(EXP_PROJECT);
    const runs = await Promise.all([1, 2, 3, 4].map(() => rig.spawn(['exp', 'run', '-n', 'same', '-S', 'train.lr=0.5'])));
    const won = runs.filter((r) => r.code === 0);
    expect(won, runs.map((r) => r.stderr).join('\n---\n')).toHaveLength(1);
    for (const r of runs.filter((x) => x.code !== 0)) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("experiment 'same' already exists");
    }
    const show = JSON.parse((await rig.run(['exp', 'show', '--json'])).stdout) as { rows: Record<string, unknown>[] };
    expect(JSON.stringify(show.rows)).toContain('"success"');
  });
});

// Cache files that are run or trusted as parsed (validators, parse records) are sealed by this user's key.
describe('a cache folder committed to a repo', () => {
  const PROJECT = { 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo hi > a.txt\n    outs: [a.txt]\n' };

  it('never runs a planted validator on status', async () => {
    const rig = await freshRig(PROJECT);
    expect((await rig.spawn(['status'])).code).toBe(0);
    const dir = join(rig.dir, '.cache', 'validators');
    const marker = join(rig.dir, 'pwned');
    const planted = `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x'); module.exports = function () { return true; };`;
    const files = await fs.readdir(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) await fs.writeFile(join(dir, f), planted);
    await rig.remove('.cache/parsed'); // as in a fresh clone: the pipeline is parsed and validated
    const st = await rig.spawn(['status']);
    expect(st.code, st.stderr).toBe(0);
    expect(rig.exists('pwned')).toBe(false);
  });

  it('never runs a command from a planted parse record', async () => {
    const rig = await freshRig(PROJECT);
    expect((await rig.spawn(['status'])).code).toBe(0);
    const dir = join(rig.dir, '.cache', 'parsed');
    const [record] = (await fs.readdir(dir)).filter((f) => f.startsWith('pipeline-'));
    expect(record).toBeDefined();
    const text = await fs.readFile(join(dir, record!), 'utf8');
    expect(text).toContain('echo hi > a.txt');
    await fs.writeFile(join(dir, record!), text.replace('echo hi > a.txt', 'touch pwned; echo hi > a.txt'));
    const re = await rig.spawn(['repro']);
    expect(re.code, re.stderr).toBe(0);
    expect(rig.read('a.txt')).toBe('hi\n');
    expect(rig.exists('pwned')).toBe(false);
  });

  it('is never staged by `git add -A`: the cache ignores itself', async () => {
    const rig = await freshRig({ ...PROJECT, 'params/default.yaml': 'x: 1\n' });
    execFileSync('git', ['init', '-q'], { cwd: rig.dir });
    expect((await rig.run(['repro'])).code).toBe(0);
    expect(rig.exists('.cache/objects')).toBe(true);
    execFileSync('git', ['add', '-A'], { cwd: rig.dir });
    const staged = execFileSync('git', ['diff', '--cached', '--name-only'], { cwd: rig.dir, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(staged).toContain('pipeline.lock');
    expect(staged.filter((f) => f.startsWith('.cache/'))).toEqual([]);
  });
});

// gc from one workspace while a repro in another, sharing the cache, has stored objects not yet in its lock.
describe('gc and a concurrent repro sharing a cache', () => {
  it('keeps objects a live process has pinned, and removes them once released', async () => {
    const cache = (await freshRig({})).dir;
    const env = { RALLYCUT_CACHE_DIR: cache };
    const gcSide = await freshRig({ 'pipeline.yaml': 'stages: {}\n' });
    const storing = await freshRig({ 'big.bin': 'x'.repeat(100_000) });
    const store = new ObjectCache(cache);
    const hash = sha('x'.repeat(100_000));
    await store.insertFile(join(storing.dir, 'big.bin'), hash); // stored, no lock names it yet
    expect((await gcSide.run(['gc'], env)).code).toBe(0);
    expect(existsSync(objectIn(cache, hash))).toBe(true);
    await store.releasePins();
    expect((await gcSide.run(['gc'], env)).code).toBe(0);
    expect(existsSync(objectIn(cache, hash))).toBe(false);
  });

  it('a repro storing a large folder out while gc runs in a loop elsewhere: every object its lock names exists', async () => {
    const cache = (await freshRig({})).dir;
    const env = { RALLYCUT_CACHE_DIR: cache };
    const gcSide = await freshRig({ 'pipeline.yaml': 'stages: {}\n' });
    const repro = await freshRig({
      'pipeline.yaml': 'stages:\n  split:\n    cmd: mkdir -p d && head -c 800000 /dev/urandom | split -b 1000 -a 3 - d/part-\n    outs: [d]\n',
    });
    let done = false;
    const running = repro.spawn(['repro'], env).finally(() => (done = true));
    let rounds = 0;
    while (!done) {
      const gc = await gcSide.spawn(['gc'], env);
      expect(gc.code, gc.stderr).toBe(0);
      rounds++;
    }
    const res = await running;
    expect(res.code, res.stderr).toBe(0);
    expect(rounds).toBeGreaterThan(0);
    await repro.remove('d');
    const co = await repro.run(['checkout'], env);
    expect(co.code, co.stderr).toBe(0);
    expect(await fs.readdir(join(repro.dir, 'd'))).toHaveLength(800);
    expect(await fs.readdir(join(cache, 'pins')).catch(() => [])).toEqual([]); // released at the end
  }, 120_000);
});

// push: a corrupt local object never leaves; --verify re-checks the remote's copies; --force uploads again.
describe.each([
  ['folder', async (): Promise<{ url: string; args: string[]; env: Record<string, string> }> => ({ url: (await freshRig({})).dir, args: [], env: {} })],
  [
    's3 (s3rver)',
    async (): Promise<{ url: string; args: string[]; env: Record<string, string> }> => {
      const s3 = await freshBucket();
      return {
        url: `s3://${s3.bucket}/c`,
        args: ['--endpoint', s3.endpoint],
        env: { AWS_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY! },
      };
    },
  ],
])('push to a %s remote', (_kind, makeRemote) => {
  const CONTENT = 'model weights\n';

  async function pushable(): Promise<{ rig: Rig; env: Record<string, string>; remote: Remote }> {
    const rig = await freshRig({ 'pipeline.yaml': `stages:\n  a:\n    cmd: printf 'model weights\\n' > a.bin\n    outs: [a.bin]\n` });
    const made = await makeRemote();
    const add = await rig.run(['remote', 'add', '-d', 'store', made.url, ...made.args], made.env);
    expect(add.code, add.stderr).toBe(0);
    expect((await rig.run(['repro'], made.env)).code).toBe(0);
    return { rig, env: made.env, remote: (await resolveNamedRemote(rig.dir, undefined, made.env)).remote };
  }
  const flip = (text: string): string => String.fromCharCode(text.charCodeAt(0) ^ 1) + text.slice(1);

  it('refuses a corrupt local object of the right size, naming it; nothing reaches the remote', async () => {
    const { rig, env, remote } = await pushable();
    const file = objectFile(rig, sha(CONTENT));
    await fs.chmod(file, 0o644);
    await fs.writeFile(file, flip(CONTENT));
    const res = await rig.run(['push'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`the local cache object ${file} is corrupt`);
    expect(res.stderr).toContain("'rallycut repro'");
    expect(await remote.getBytes(objectKey(sha(CONTENT), false))).toBeNull();
  });

  it('--verify finds a corrupt remote copy a size check misses and uploads a good one; --force uploads all again', async () => {
    const { rig, env, remote } = await pushable();
    expect((await rig.run(['push'], env)).code).toBe(0);
    const key = objectKey(sha(CONTENT), false);
    await remote.putBytes(key, flip(CONTENT)); // damaged at rest, same size
    const plain = await rig.run(['push', '--json'], env);
    expect(JSON.parse(plain.stdout)).toMatchObject({ uploaded: 0, alreadyPresent: 1 }); // a size check cannot tell
    const verified = await rig.run(['push', '--verify'], env);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toContain(`corrupt on the remote (sha256 mismatch): ${key}`);
    expect(verified.stdout).toContain('1 object(s) uploaded');
    expect((await remote.getBytes(key))?.toString()).toBe(CONTENT);
    expect(JSON.parse((await rig.run(['push', '--verify', '--json'], env)).stdout)).toMatchObject({ uploaded: 0, corruptOnRemote: [] });
    expect(JSON.parse((await rig.run(['push', '--force', '--json'], env)).stdout)).toMatchObject({ uploaded: 1 });
  });
});
