// checkout, gc and doctor against a real project folder and cache, through their command specs.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ObjectCache } from '../../cache/objects.js';
import { exitCodeFor, toDiagnostics } from '../../diagnostics.js';
import { Hasher } from '../../hash/index.js';
import type { LockedOut } from '../../lock/types.js';
import { updateLock } from '../../lock/lock.js';
import { formatDiagnostics } from '../../format/printer.js';
import { parseArgs } from '../../args.js';
import type { CommandSpec } from '../command.js';
import { checkoutCommand } from './checkout.js';
import { doctorCommand } from './doctor.js';
import { gcCommand } from './gc.js';

let root: string;
let cache: ObjectCache;

function put(rel: string, data: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), data);
}
const read = (rel: string): string => readFileSync(join(root, rel), 'utf8');

async function run(spec: CommandSpec, argv: string[] = []): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = {
    cwd: root,
    env: {},
    out: (t: string) => void (out += t),
    err: (t: string) => void (err += t),
    isTTY: false,
    signal: new AbortController().signal,
  };
  try {
    await spec.run(parseArgs(argv, spec.options, spec.positionals), io);
    return { code: 0, out, err };
  } catch (e) {
    const d = toDiagnostics(e);
    return { code: exitCodeFor(d), out, err: err + formatDiagnostics(d) };
  }
}

/** Hashes the outs, stores the cached ones and records the stage in pipeline.lock, as repro does. */
async function lockStage(stage: string, outs: { path: string; cache?: false }[]): Promise<Record<string, LockedOut>> {
  const hasher = await Hasher.open(root, join(root, '.cache'));
  const recorded: Record<string, LockedOut> = {};
  for (const o of outs) {
    const h = (await hasher.hashPath(o.path))!;
    if (o.cache !== false) await cache.insertPath(root, o.path, h);
    recorded[o.path] = {
      path: o.path,
      sha256: h.sha256,
      size: h.size,
      ...(h.isDir ? { nfiles: h.nfiles } : {}),
      ...(o.cache === false ? { cache: false as const } : {}),
    };
  }
  await hasher.save();
  await updateLock(root, { [stage]: { cmd: ['make'], deps: [], params: {}, outs: Object.values(recorded) } });
  return recorded;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rc-cmd-'));
  cache = new ObjectCache(join(root, '.cache'));
  writeFileSync(join(root, 'pipeline.yaml'), 'stages: {}\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('rallycut checkout', () => {
  it('restores deleted file and folder outs from the cache and leaves intact ones alone', async () => {
    put('model/weights.bin', 'W1');
    put('model/config.json', '{}');
    put('metrics.json', '{"f1":0.9}');
    put('index.json', '[1,2]');
    await lockStage('train', [{ path: 'model' }, { path: 'metrics.json' }]);
    await lockStage('prep', [{ path: 'index.json' }]);
    rmSync(join(root, 'model'), { recursive: true });
    rmSync(join(root, 'metrics.json'));
    const r = await run(checkoutCommand());
    expect(r.code).toBe(0);
    expect(r.out).toContain('restored  metrics.json  (train)');
    expect(r.out).toContain('restored  model  (train)');
    expect(r.out).toContain('2 restored, 1 already up to date');
    expect(read('model/weights.bin')).toBe('W1');
    expect(read('metrics.json')).toBe('{"f1":0.9}');
    expect(lstatSync(join(root, 'model/weights.bin')).isSymbolicLink()).toBe(false);
  });

  it('restores only the named stage or path', async () => {
    put('a.txt', 'a');
    put('b.txt', 'b');
    await lockStage('sa', [{ path: 'a.txt' }]);
    await lockStage('sb', [{ path: 'b.txt' }]);
    rmSync(join(root, 'a.txt'));
    rmSync(join(root, 'b.txt'));
    expect((await run(checkoutCommand(), ['sb'])).code).toBe(0);
    expect([existsSync(join(root, 'a.txt')), read('b.txt')]).toEqual([false, 'b']);
    expect((await run(checkoutCommand(), ['./a.txt'])).code).toBe(0);
    expect(read('a.txt')).toBe('a');
    const bad = await run(checkoutCommand(), ['nosuch']);
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining("'nosuch' is neither a stage nor an out")]);
  });

  it('says which outs are missing from the cache and exits 1, after restoring the rest', async () => {
    put('a.txt', 'a');
    put('b.txt', 'b');
    const outs = await lockStage('s', [{ path: 'a.txt' }, { path: 'b.txt' }]);
    rmSync(join(root, 'a.txt'));
    rmSync(join(root, 'b.txt'));
    rmSync(cache.objectPath(outs['b.txt']!.sha256));
    const r = await run(checkoutCommand());
    expect(r.code).toBe(1);
    expect(r.out).toContain('restored  a.txt  (s)');
    expect(r.err).toMatch(/b\.txt \(s\): not in the cache/);
    expect(read('a.txt')).toBe('a');
    rmSync(join(root, 'a.txt'));
    put('b.txt', 'b');
    const ok = await run(checkoutCommand(), ['--json']);
    expect(JSON.parse(ok.out).items.map((i: { path: string; state: string }) => `${i.path}:${i.state}`)).toEqual(['a.txt:restored', 'b.txt:unchanged']);
  });

  it('keeps a modified out whose content is not cached unless --force', async () => {
    put('a.txt', 'locked');
    await lockStage('s', [{ path: 'a.txt' }]);
    put('a.txt', 'my unsaved work');
    const r = await run(checkoutCommand());
    expect(r.code).toBe(1);
    expect(r.err).toContain('modified in the workspace and not cached; kept (use --force to overwrite)');
    expect(read('a.txt')).toBe('my unsaved work');
    expect((await run(checkoutCommand(), ['--force'])).code).toBe(0);
    expect(read('a.txt')).toBe('locked');
  });
});

describe('rallycut gc', () => {
  it('removes unreferenced objects, keeps those in the lock, run records and experiments; --dry deletes nothing', async () => {
    put('keep/x.txt', 'x');
    put('keep/y.txt', 'y');
    const kept = await lockStage('s', [{ path: 'keep' }]);
    const hasher = await Hasher.open(root, join(root, '.cache'));
    const ids: Record<string, string> = {};
    for (const name of ['old', 'run', 'exp']) {
      put(`${name}.txt`, `${name} content`);
      const h = (await hasher.hashPath(`${name}.txt`))!;
      await cache.insertPath(root, `${name}.txt`, h);
      ids[name] = h.sha256;
    }
    await cache.releasePins(); // as a finished run does: until then gc keeps what it stored (cache/pins.ts)
    put('.cache/runs/ab/key.json', JSON.stringify({ stage: 's', outs: [{ path: 'run.txt', sha256: ids.run, size: 11 }], log: [] }));
    put('.cache/exps/e1/record.yaml', `outs:\n  - sha256: ${ids.exp}\n`);

    const dry = await run(gcCommand(), ['--dry']);
    expect(dry.out).toContain(`would remove ${ids.old}`);
    expect(await cache.has(ids.old!)).toBe(true);

    const r = await run(gcCommand(), ['--json']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.removed.map((o: { sha256: string }) => o.sha256)).toEqual([ids.old]);
    expect(res.sources).toEqual({ lockStages: 1, runRecords: 1, expRecords: 1, workspaces: 0 });
    expect(await cache.has(ids.old!)).toBe(false);
    for (const sha of [ids.run!, ids.exp!, kept.keep!.sha256]) expect(await cache.has(sha)).toBe(true);
    rmSync(join(root, 'keep'), { recursive: true });
    expect((await run(checkoutCommand())).code).toBe(0);
    expect(read('keep/y.txt')).toBe('y');

    const dropped = JSON.parse((await run(gcCommand(), ['--drop-run-cache', '--json'])).out);
    expect(dropped.removed.map((o: { sha256: string }) => o.sha256)).toEqual([ids.run]);
    expect(existsSync(join(root, '.cache/runs'))).toBe(false);
    expect(await cache.has(ids.exp!)).toBe(true);
  });
});

describe('rallycut gc: temp files of interrupted writes', () => {
  it("removes those whose writer is gone, beside and inside outs and in the cache; keeps a live writer's", async () => {
    put('out/a.txt', 'a');
    put('single.txt', 's');
    await lockStage('s', [{ path: 'out' }, { path: 'single.txt' }]);
    const { spawnSync } = await import('node:child_process');
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const dead = (name: string): string => `.rallycut-tmp-${name}.${deadPid}.0123abcd`;
    const left = [`out/${dead('b.txt')}`, dead('single.txt'), `.cache/proxies/${dead('x.mp4')}`];
    for (const p of left) put(p, 'partial');
    const live = `.rallycut-tmp-single.txt.${process.pid}.89abcdef`; // this process: still writing it
    put(live, 'in progress');
    put('unrelated/.rallycut-tmp-z.txt.1.00000000', 'not beside any out: left alone');

    const dry = JSON.parse((await run(gcCommand(), ['--dry', '--json'])).out);
    expect(dry.staleTemps).toBe(3);
    for (const p of left) expect(existsSync(join(root, p)), p).toBe(true);

    const r = await run(gcCommand());
    expect(r.out).toContain('removed 3 stale temp file(s)');
    for (const p of left) expect(existsSync(join(root, p)), p).toBe(false);
    expect(existsSync(join(root, live))).toBe(true);
    expect(existsSync(join(root, 'unrelated/.rallycut-tmp-z.txt.1.00000000'))).toBe(true);
    expect(read('out/a.txt')).toBe('a');
  });
});

describe('rallycut doctor', () => {
  it('is clean after a checked-out file is edited, and names a flipped byte with the out using it', async () => {
    put('model.bin', 'abcdef');
    put('d/one.txt', 'one');
    const outs = await lockStage('train', [{ path: 'model.bin' }, { path: 'd' }]);
    rmSync(join(root, 'model.bin'));
    await run(checkoutCommand());
    writeFileSync(join(root, 'model.bin'), 'edited in place');
    const clean = await run(doctorCommand());
    expect([clean.code, clean.out]).toEqual([0, 'Checked 3 object(s); 0 corrupt\n']);

    const obj = cache.objectPath(outs['model.bin']!.sha256);
    const bytes = readFileSync(obj);
    bytes[2] = bytes[2]! ^ 0x01;
    writeFileSync(obj, bytes);
    const r = await run(doctorCommand());
    expect(r.code).toBe(1);
    expect(r.out).toContain(`corrupt ${outs['model.bin']!.sha256}: content hashes to`);
    expect(r.out).toContain('(used by train: model.bin)');
    const fixed = await run(doctorCommand(), ['--remove-corrupt', '--json']);
    expect([fixed.code, fixed.out]).toEqual([1, '']); // the CLI prints {ok: false, errors} for --json
    expect(fixed.err).toContain(`${outs['model.bin']!.sha256}: content hashes to`);
    expect(existsSync(obj)).toBe(false);
    const after = await run(doctorCommand(), ['--json']);
    expect(JSON.parse(after.out)).toMatchObject({ ok: true, checked: 2, problems: [] }); // the corrupt one is gone;
  });
});
