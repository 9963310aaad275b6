// The engine's cache remote end to end: `rallycut remote add`, `push`, `pull` on real projects, one suite
// run against a folder remote and against S3 (s3rver on loopback). A "fresh clone" is a second project
// folder holding only the git-tracked files (pipeline.yaml, pipeline.lock, .rallycut/config.yaml).
import { mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ObjectCache } from '../../src/cache/objects.js';
import { pushCache } from '../../src/cache/push.js';
import { objectKey, wantedFromOuts } from '../../src/cache/remote-layout.js';
import { readLock } from '../../src/lock/lock.js';
import { resolveNamedRemote } from '../../src/remote/named.js';
import { freshBucket } from '../services/fresh.js';
import { Rig } from '../rig.js';

const cmd = Rig.stageCmd;
// gen: a file out and a folder out (nested); sum: a file out from both. in.txt drives the content.
const PIPELINE = `stages:
  gen:
    cmd: '${cmd('gen', 'mkdir -p model/sub && cp in.txt model/w.bin && printf C > model/sub/c.json && seq 1 30000 > blob.txt')}'
    deps: [in.txt]
    outs: [model, blob.txt]
  sum:
    cmd: '${cmd('sum', 'cat model/w.bin blob.txt | wc -c > sum.txt')}'
    deps: [model, blob.txt]
    outs: [sum.txt]
`;
const OUTS = ['model/w.bin', 'model/sub/c.json', 'blob.txt', 'sum.txt'];
const OBJECTS = 5; // blob.txt, sum.txt, model's two files and its manifest

interface Kind {
  name: string;
  make(): Promise<{ url: string; addArgs: string[]; env: Record<string, string>; cleanup(): Promise<void> }>;
}

const KINDS: Kind[] = [
  {
    name: 'folder',
    async make() {
      const dir = mkdtempSync(join(tmpdir(), 'rallycut-cache-remote-'));
      return { url: dir, addArgs: [], env: {}, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3 (s3rver)',
    async make() {
      const s3 = await freshBucket();
      const env = { AWS_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY! };
      return { url: `s3://${s3.bucket}/team/cache`, addArgs: ['--endpoint', s3.endpoint], env, cleanup: async () => undefined };
    },
  },
];

type Json = Record<string, unknown>;

describe.each(KINDS)('cache remote: $name', (kind) => {
  let rig: Rig;
  let clone: Rig;
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;

  const run = async (r: Rig, ...args: string[]) => r.run(args, env);
  const json = async (r: Rig, ...args: string[]): Promise<Json> => {
    const res = await run(r, ...args, '--json');
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as Json;
  };
  /** Copies what git would carry into the clone. */
  const cloneProject = async (): Promise<void> => {
    for (const f of ['pipeline.yaml', 'pipeline.lock', 'in.txt', '.rallycut/config.yaml']) await clone.write({ [f]: rig.read(f) });
  };
  const remoteOf = async (r: Rig) => (await resolveNamedRemote(r.dir, undefined, env)).remote;

  beforeEach(async () => {
    rig = new Rig();
    clone = new Rig();
    const made = await kind.make();
    env = made.env;
    cleanup = made.cleanup;
    await rig.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'v1\n' });
    const added = await run(rig, 'remote', 'add', '-d', 'store', made.url, ...made.addArgs);
    expect(added.code, added.stderr).toBe(0);
    const built = await run(rig, 'repro');
    expect(built.code, built.stderr).toBe(0);
  });
  afterEach(async () => {
    await Promise.all([rig.cleanup(), clone.cleanup(), cleanup()]);
  });

  it('push then pull into a fresh clone restores every out byte for byte; a second push uploads nothing', async () => {
    expect(await json(rig, 'push', '--dry-run')).toMatchObject({ uploaded: 0, toUpload: OBJECTS, alreadyPresent: 0 });
    const first = await json(rig, 'push');
    expect(first).toMatchObject({ uploaded: OBJECTS, alreadyPresent: 0, failed: [], missingLocally: [] });
    const again = await json(rig, 'push', '-j', '2');
    expect(again).toMatchObject({ uploaded: 0, uploadedBytes: 0, toUpload: 0, alreadyPresent: OBJECTS });

    await cloneProject();
    const pulled = await json(clone, 'pull');
    expect(pulled).toMatchObject({ downloaded: OBJECTS, corrupt: [], notOnRemote: [] });
    for (const f of OUTS) expect(readFileSync(join(clone.dir, f)), f).toEqual(readFileSync(join(rig.dir, f)));
    // The clone is now up to date: nothing reruns, and a second pull downloads nothing.
    const repro = await run(clone, 'repro');
    expect(repro.code, repro.stderr).toBe(0);
    expect(await clone.invocations()).toEqual([]);
    expect(await json(clone, 'pull')).toMatchObject({ downloaded: 0 });
  });

  it('pushes and pulls only the named targets', async () => {
    expect(await json(rig, 'push', 'sum')).toMatchObject({ uploaded: 1 });
    await cloneProject();
    const res = await run(clone, 'pull', 'model');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/not on the remote: model \(gen\)/);
    expect(clone.exists('sum.txt')).toBe(false);
    expect((await run(clone, 'pull', 'sum.txt')).code).toBe(0);
    expect(clone.read('sum.txt')).toBe(rig.read('sum.txt'));
  });

  it('after an interrupted push, the rerun uploads only what is missing', async () => {
    await json(rig, 'push');
    const lock = await readLock(rig.dir);
    const blob = lock.stages.gen!.outs.find((o) => o.path === 'blob.txt')!;
    const remote = await remoteOf(rig);
    await remote.delete([objectKey(blob.sha256, false)]); // as if the push had died before this upload
    const rerun = await json(rig, 'push');
    expect(rerun).toMatchObject({ uploaded: 1, uploadedBytes: blob.size, alreadyPresent: OBJECTS - 1 });
  });

  it('a push aborted mid-way leaves no partial object, and the rerun uploads exactly the rest', async () => {
    const lock = await readLock(rig.dir);
    const objects = Object.entries(lock.stages).flatMap(([stage, e]) => wantedFromOuts(e.outs, (o) => `${o.path} (${stage})`));
    const remote = await remoteOf(rig);
    const abort = new AbortController();
    const base = { cacheDir: join(rig.dir, '.cache'), remote, objects, runCache: false, jobs: 1 };
    // Abort as soon as the second object starts moving bytes (one object is done by then).
    let started = 0;
    const watching: typeof remote = Object.create(remote) as typeof remote;
    watching.putFile = (key, file, o) => {
      if (++started === 2) abort.abort();
      return remote.putFile(key, file, o);
    };
    const cut = await pushCache({ ...base, remote: watching, signal: abort.signal });
    // The object in flight at the abort may or may not complete (small files are quick); none after it starts.
    expect(cut.uploaded).toBeGreaterThanOrEqual(1);
    expect(cut.uploaded).toBeLessThanOrEqual(2);
    const keys: string[] = [];
    for await (const o of remote.list('')) keys.push(o.key);
    expect(keys).toHaveLength(cut.uploaded);
    // The rerun learns what is there from one listing (no request per object) and uploads only the rest.
    const calls = { list: 0, put: 0 };
    const counting: typeof remote = Object.create(remote) as typeof remote;
    counting.list = (prefix) => (calls.list++, remote.list(prefix));
    counting.putFile = (key, file, o) => (calls.put++, remote.putFile(key, file, o));
    const rerun = await pushCache({ ...base, remote: counting });
    expect(calls).toEqual({ list: 1, put: OBJECTS - cut.uploaded });
    expect(rerun).toMatchObject({ uploaded: OBJECTS - cut.uploaded, alreadyPresent: cut.uploaded, failed: [] });
  });

  it('a flipped byte in a remote object is detected on pull, named, and never enters the cache', async () => {
    await json(rig, 'push');
    const lock = await readLock(rig.dir);
    const modelSha = lock.stages.gen!.outs.find((o) => o.path === 'model')!.sha256;
    const manifest = await new ObjectCache(join(rig.dir, '.cache')).readManifest(modelSha);
    const wSha = manifest.find((e) => e.path === 'w.bin')!.sha256;
    const key = objectKey(wSha, false);
    const remote = await remoteOf(rig);
    const bytes = (await remote.getBytes(key))!;
    bytes[0] = bytes[0]! ^ 0xff;
    await remote.putBytes(key, bytes);

    await cloneProject();
    const res = await run(clone, 'pull');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`corrupt on the remote (sha256 mismatch), not used: ${key}`);
    expect(clone.exists(`.cache/objects/${wSha.slice(0, 2)}/${wSha.slice(2)}`)).toBe(false);
    expect(clone.exists('model')).toBe(false);
    // The other outs still arrive.
    expect(clone.read('blob.txt')).toBe(rig.read('blob.txt'));
    expect(clone.read('sum.txt')).toBe(rig.read('sum.txt'));
  });

  it('--run-cache shares run records: a clone reuses a run it never made', async () => {
    await rig.write({ 'in.txt': 'v2\n' });
    expect((await run(rig, 'repro')).code).toBe(0);
    const v2sum = rig.read('sum.txt');
    await rig.write({ 'in.txt': 'v1\n' });
    expect((await run(rig, 'repro')).code).toBe(0); // the lock now records v1; v2's outs live only in the run-cache
    await rig.invocations();
    const pushed = await json(rig, 'push', '--run-cache');
    expect(pushed.runsUploaded).toBeGreaterThanOrEqual(4); // gen and sum, for v1 and v2

    await cloneProject();
    const pulled = await json(clone, 'pull', '--run-cache');
    expect(pulled.runsDownloaded).toBe(pushed.runsUploaded);
    await clone.write({ 'in.txt': 'v2\n' });
    const res = await run(clone, 'repro');
    expect(res.code, res.stderr).toBe(0);
    expect(await clone.invocations()).toEqual([]);
    expect(clone.read('sum.txt')).toBe(v2sum);
  });
});

describe('rallycut remote', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = new Rig();
    await rig.write({ 'pipeline.yaml': 'stages: {}\n' });
  });
  afterEach(async () => rig.cleanup());

  it('adds, lists, switches the default and removes remotes in .rallycut/config.yaml', async () => {
    expect((await rig.run(['remote', 'add', 'backup', '../backup'])).code).toBe(0);
    expect((await rig.run(['remote', 'add', 'cloud', 's3://my-bucket/rallycut/', '--endpoint', 'http://127.0.0.1:9000'])).code).toBe(0);
    const config = rig.read('.rallycut/config.yaml');
    expect(config).toContain('url: ../backup');
    expect(config).toContain('url: s3://my-bucket/rallycut');
    expect(config).toMatch(/core:\n\s+remote: backup/); // the first remote added becomes the default
    expect((await rig.run(['remote', 'default', 'cloud'])).code).toBe(0);
    const listed = JSON.parse((await rig.run(['remote', 'list', '--json'])).stdout) as {
      remotes: { name: string; url: string; default: boolean; endpoint?: string }[];
    };
    expect(listed.remotes).toEqual([
      { name: 'backup', url: '../backup', default: false },
      { name: 'cloud', url: 's3://my-bucket/rallycut', endpoint: 'http://127.0.0.1:9000', default: true },
    ]);
    expect((await rig.run(['remote', 'add', 'other', '/mnt/other'])).code).toBe(0);
    expect((await rig.run(['remote', 'remove', 'cloud'])).code).toBe(0);
    expect(rig.read('.rallycut/config.yaml')).not.toContain('cloud');
    const push = await rig.run(['push']);
    expect(push.code).toBe(2);
    expect(push.stderr).toContain('no default remote: pass -r NAME (one of backup, other)');
  });

  it('rejects bad URLs, names and duplicates with a clear reason, and never stores credentials', async () => {
    const cases: [string[], RegExp][] = [
      [['remote', 'add', 'x', 'gs://bucket/p'], /unsupported remote URL 'gs:\/\/bucket\/p': use s3:\/\/bucket\/prefix or a folder path/],
      [['remote', 'add', 'x', 's3://'], /names no bucket/],
      [['remote', 'add', 'x', 's3://Bad_Bucket/p'], /'Bad_Bucket' is not a valid S3 bucket name/],
      [['remote', 'add', 'x', 's3://AKIA:topsecret@bucket/p'], /carries credentials: they are never stored/],
      [['remote', 'add', 'x', 's3://bucket', '--endpoint', 'localhost:9000'], /invalid endpoint 'localhost:9000'/],
      [['remote', 'add', 'x', './dir', '--endpoint', 'http://127.0.0.1:9000'], /--endpoint and --region apply to s3:\/\/ remotes only/],
      [['remote', 'add', 'bad name', './dir'], /invalid remote name 'bad name'/],
      [['remote', 'add', 'x'], /missing argument URL/],
      [['remote', 'remove', 'nope'], /no remote named 'nope'/],
    ];
    for (const [argv, re] of cases) {
      const res = await rig.run(argv);
      expect(res.code, argv.join(' ')).toBe(2);
      expect(res.stderr, argv.join(' ')).toMatch(re);
      expect(res.stderr).not.toContain('topsecret');
    }
    expect(rig.exists('.rallycut/config.yaml')).toBe(false);
    expect((await rig.run(['remote', 'add', 'x', './dir'])).code).toBe(0);
    const dup = await rig.run(['remote', 'add', 'x', './other']);
    expect(dup.stderr).toMatch(/remote 'x' already exists \(dir\); use --force to replace it/);
    expect((await rig.run(['remote', 'add', '-f', 'x', './other'])).code).toBe(0);
    const pull = await rig.run(['pull', '-r', 'y']);
    expect(pull.stderr).toContain("no remote named 'y' in .rallycut/config.yaml (have: x)");
  });
});
