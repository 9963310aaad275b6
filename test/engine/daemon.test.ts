// The project daemon (`rallycut daemon start`): a no-op repro/status is answered from memory with the exact
// bytes the CLI prints, and any change made just before a command (in place, in a new folder, a deleted
// out, a param, the pipeline) makes that command run the normal way. Real processes throughout: the
// daemon, `node bin/rallycut` clients, inotify.
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ask, daemonPid, mailboxDir } from '../../src/daemon/mailbox.js';
import { PROTOCOL_VERSION, type CommandResponse, type DaemonStatus } from '../../src/daemon/protocol.js';
import { processAlive } from '../../src/process.js';
import { daemonsIn } from '../kit/daemons.js';
import { makeVideos, writeDataset } from '../kit/pushable.js';
import { distIsFresh, Rig, type RunResult } from '../rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    if (existsSync(rig.dir)) await rig.spawn(['daemon', 'stop']);
    await rig.cleanup();
  }
});

const BUNDLED = existsSync(join(import.meta.dirname, '..', '..', 'dist', 'cli', 'daemon-client.cjs'));

async function project(): Promise<Rig> {
  const rig = new Rig('rallycut-daemon-');
  rigs.push(rig);
  await rig.write({
    'data/a/one.txt': 'one\n',
    'data/b/two.txt': 'two\n',
    'params/default.yaml': 'scale: 2\nunused: 1\n',
    'pipeline.yaml': [
      'stages:',
      '  gather:',
      `    cmd: ${JSON.stringify(Rig.stageCmd('gather', 'mkdir -p out && find data -type f | sort | xargs cat > out/all.txt'))}`,
      '    deps: [data]',
      '    outs: [out/all.txt]',
      '  count:',
      `    cmd: ${JSON.stringify(Rig.stageCmd('count', 'wc -l < out/all.txt > out/count.txt && echo ${scale} >> out/count.txt'))}`,
      '    deps: [out/all.txt]',
      '    params: [scale]',
      '    outs: [out/count.txt]',
      '',
    ].join('\n'),
  });
  expect((await rig.spawn(['repro'])).code).toBe(0);
  expect(await rig.invocations()).toEqual(['gather', 'count']);
  return rig;
}

async function daemonStatus(rig: Rig): Promise<DaemonStatus> {
  const r = await rig.spawn(['daemon', 'status', '--json']);
  return JSON.parse(r.stdout) as DaemonStatus;
}

const withoutSeconds = (r: RunResult): RunResult => ({ ...r, stdout: r.stdout.replace(/"seconds": [0-9.e-]+/g, '"seconds": 0') });

describe.skipIf(!BUNDLED || !distIsFresh())('project daemon', () => {
  it('answers no-op repro and status with the same bytes as the CLI, without running or re-checking', async () => {
    const rig = await project();
    const commands = [['repro'], ['status'], ['status', '--json'], ['repro', '--json'], ['repro', '--dry'], ['repro', 'count', '-s'], ['status', 'gather']];
    const normal = new Map<string, RunResult>();
    for (const c of commands) normal.set(c.join(' '), withoutSeconds(await rig.spawn(c, { RALLYCUT_DAEMON: '0' })));
    expect(normal.get('repro')!.stdout).toBe('Done: ran 0, skipped 2, restored 0, run-cache 0, failed 0\n');

    const started = await rig.spawn(['daemon', 'start']);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^daemon pid \d+ for /);
    expect(daemonPid(mailboxDir(rig.dir, rig.env()))).toBeGreaterThan(0);

    // The plain repro and status are checked at start; other command lines once asked (the first asks miss).
    for (const c of commands) await rig.spawn(c);
    const question = await asker(rig);
    for (const c of commands) await waitFor(() => question(c).kind === 'answer');
    const before = (await daemonStatus(rig)).answered;
    for (const c of commands) expect(withoutSeconds(await rig.spawn(c)), c.join(' ')).toEqual(normal.get(c.join(' ')));
    expect((await daemonStatus(rig)).answered - before).toBe(commands.length);
    expect(await rig.invocations()).toEqual([]);
  });

  it('runs what a change made just before the command affects, every time', async () => {
    const rig = await project();
    expect((await rig.spawn(['daemon', 'start'])).code).toBe(0);
    const reproNow = async (): Promise<string[]> => {
      const r = await rig.spawn(['repro']);
      expect(r.code, r.stderr).toBe(0);
      return rig.invocations();
    };
    // In place, same size, in a nested folder: no folder entry changes, only the file's contents.
    for (let i = 0; i < 8; i++) {
      writeFileSync(join(rig.dir, 'data/a/one.txt'), `on${i}\n`);
      expect(await reproNow(), `edit ${i}`).toEqual(['gather', 'count']);
      expect(rig.read('out/all.txt')).toBe(`on${i}\ntwo\n`);
      expect(await reproNow()).toEqual([]);
    }
    // A file in a folder created after the daemon started.
    await rig.write({ 'data/new/deeper/three.txt': 'three\n' });
    expect(await reproNow()).toEqual(['gather', 'count']);
    expect(await reproNow()).toEqual([]);
    writeFileSync(join(rig.dir, 'data/new/deeper/three.txt'), 'THREE\n');
    expect(await reproNow()).toEqual(['gather', 'count']);
    // A deleted out is restored, not run.
    await rig.remove('out/count.txt');
    expect(await reproNow()).toEqual([]);
    expect(rig.read('out/count.txt')).toBe('3\n2\n');
    // A tracked param; an untracked one changes nothing.
    await rig.write({ 'params/default.yaml': 'scale: 3\nunused: 1\n' });
    expect(await reproNow()).toEqual(['count']);
    await rig.write({ 'params/default.yaml': 'scale: 3\nunused: 2\n' });
    expect(await reproNow()).toEqual([]);
    // The dep folder replaced by a rename.
    await rig.write({ 'incoming/a/one.txt': 'fresh\n', 'incoming/b/two.txt': 'two\n' });
    renameSync(join(rig.dir, 'data'), join(rig.dir, 'old-data'));
    renameSync(join(rig.dir, 'incoming'), join(rig.dir, 'data'));
    expect(await reproNow()).toEqual(['gather', 'count']);
    expect(rig.read('out/all.txt')).toBe('fresh\ntwo\n');
    expect(await reproNow()).toEqual([]);
    // The watches followed the old folders' inodes: the new data/ must be watched, not the renamed one.
    writeFileSync(join(rig.dir, 'data/a/one.txt'), 'FRESH\n');
    expect(await reproNow()).toEqual(['gather', 'count']);
    writeFileSync(join(rig.dir, 'old-data/a/one.txt'), 'stale\n');
    expect(await reproNow()).toEqual([]);
    // The pipeline itself.
    await rig.write({ 'pipeline.yaml': rig.read('pipeline.yaml').replace('echo ${scale}', 'echo x${scale}') });
    expect(await reproNow()).toEqual(['count']);
    expect(await reproNow()).toEqual([]);
    const s = await daemonStatus(rig);
    expect(s.answered).toBeGreaterThan(0);
    expect(s.changes).toBeGreaterThan(0);
  });

  it('never answers from before a write that finished before the question was sent', async () => {
    // The tightest race: the write returns, and the question follows at once through the mailbox (no process
    // start in between). The kernel has queued the change already; the daemon must read it first.
    const rig = await project();
    const settle = { RALLYCUT_DAEMON_SETTLE_MS: '5' };
    expect((await rig.spawn(['daemon', 'start'], settle)).code).toBe(0);
    const question = await asker(rig, settle);
    const file = join(rig.dir, 'data/a/one.txt');
    for (let i = 0; i < 40; i++) {
      await waitFor(() => question(['repro']).kind === 'answer'); // the daemon knows the tree is up to date
      writeFileSync(file, i % 2 ? 'ONE\n' : 'eno\n'); // same size, in place
      expect(question(['repro']).kind, `round ${i}`).toBe('miss');
      writeFileSync(file, 'one\n'); // back to what the lock holds: a no-op again once checked
    }
    expect(await rig.invocations()).toEqual([]);
  });

  it("re-asks handler hooks before each answer: a change outside the project (the remote's contents) is seen", async () => {
    // push's stamp is what the remote holds; no watched file shows a video deleted from the remote.
    const rig = new Rig('rallycut-daemon-stamp-');
    rigs.push(rig);
    const videos = makeVideos(2, 4096);
    await writeDataset(rig, 'ds', videos, true);
    await rig.write({ 'pipeline.yaml': 'stages:\n  push:\n    handler: push\n    with: { name: ds }\n    deps: [training_datasets/ds]\n' });
    const env = { RALLYCUT_REMOTE_DIR: join(rig.dir, '..', `${rig.dir.split('/').pop()}-remote`) };
    const remoteVideo = join(env.RALLYCUT_REMOTE_DIR, 'videos', `${videos[0]!.sha}.mp4`);
    try {
      expect((await rig.spawn(['repro'], env)).stdout).toBe('Done: ran 1, skipped 0, restored 0, run-cache 0, failed 0\n');
      expect((await rig.spawn(['daemon', 'start'], env)).code).toBe(0);
      const answered = async (): Promise<number> => JSON.parse((await rig.spawn(['daemon', 'status', '--json'], env)).stdout).answered as number;
      expect((await rig.spawn(['repro'], env)).stdout).toBe('Done: ran 0, skipped 1, restored 0, run-cache 0, failed 0\n');
      expect(await answered()).toBe(1);
      rmSync(remoteVideo);
      expect((await rig.spawn(['repro'], env)).stdout).toBe('Done: ran 1, skipped 0, restored 0, run-cache 0, failed 0\n');
      expect(existsSync(remoteVideo)).toBe(true);
      expect(await answered()).toBe(1);
      const misses = JSON.parse((await rig.spawn(['daemon', 'status', '--json'], env)).stdout).misses as Record<string, number>;
      expect(misses["stage 'push': tool versions or external state changed"]).toBe(1);
    } finally {
      await rig.spawn(['daemon', 'stop'], env);
      rmSync(env.RALLYCUT_REMOTE_DIR, { recursive: true, force: true });
    }
  });

  it('steps aside for another environment, a running repro and deps it cannot watch', async () => {
    const rig = await project();
    expect((await rig.spawn(['daemon', 'start'])).code).toBe(0);
    // Another SSH session or terminal tab is the same environment; any other variable is not.
    expect((await rig.spawn(['repro'], { SSH_CONNECTION: '10.0.0.9 50000 10.0.0.1 22', SHLVL: '3' })).code).toBe(0);
    expect((await daemonStatus(rig)).answered).toBe(1);
    expect((await rig.spawn(['repro'], { SOME_SETTING: 'x' })).stdout).toBe('Done: ran 0, skipped 2, restored 0, run-cache 0, failed 0\n');
    // A lock left by a killed repro: the normal path takes it over; the daemon does not answer meanwhile.
    await rig.write({ '.cache/repro.lock': JSON.stringify({ pid: 999999, started: 'then' }) });
    const taken = await rig.spawn(['repro']);
    expect(taken.stderr).toContain('taking over a stale repro lock');
    // A dep inside node_modules is not watched: such a pipeline is always checked the normal way.
    await rig.write({
      'node_modules/lib/x.txt': 'x\n',
      'pipeline.yaml': `stages:\n  lib:\n    cmd: ${JSON.stringify(Rig.stageCmd('lib', 'cp node_modules/lib/x.txt lib.txt'))}\n    deps: [node_modules/lib/x.txt]\n    outs: [lib.txt]\n`,
    });
    expect((await rig.spawn(['repro'])).code).toBe(0);
    expect(await rig.invocations()).toEqual(['lib']);
    const unwatched = "'node_modules/lib/x.txt' is in a folder the daemon does not watch";
    const question = await asker(rig);
    await waitFor(() => question(['repro']).reason === unwatched);
    await rig.write({ 'node_modules/lib/x.txt': 'y\n' });
    expect((await rig.spawn(['repro'])).code).toBe(0);
    expect(await rig.invocations()).toEqual(['lib']);
    // A malformed request gets a miss; the daemon lives on.
    const { buildId } = await daemonStatus(rig);
    const malformed = { op: 'command', v: PROTOCOL_VERSION, buildId, root: rig.dir, cwd: rig.dir, argv: ['repro'] }; // no env
    expect(ask(mailboxDir(rig.dir, rig.env()), malformed, 3000)).toMatchObject({ kind: 'miss', reason: expect.stringContaining('the daemon failed') });
    const misses = Object.keys((await daemonStatus(rig)).misses).join('\n');
    expect(misses).toContain('environment differs (SOME_SETTING)');
    expect(misses).toContain('a repro is running');
    expect(misses).toContain(unwatched);
  });

  it('RALLYCUT_DAEMON=auto: the first repro starts the daemon, which answers the next one', async () => {
    const rig = await project();
    const auto = { RALLYCUT_DAEMON: 'auto' };
    expect((await rig.spawn(['repro'], auto)).stdout).toBe('Done: ran 0, skipped 2, restored 0, run-cache 0, failed 0\n');
    const mailbox = mailboxDir(rig.dir, rig.env(auto));
    await waitFor(() => daemonPid(mailbox) !== undefined);
    await waitFor(async () => JSON.parse((await rig.spawn(['daemon', 'status', '--json'], auto)).stdout).ready === true);
    expect((await rig.spawn(['repro'], auto)).stdout).toBe('Done: ran 0, skipped 2, restored 0, run-cache 0, failed 0\n');
    expect(JSON.parse((await rig.spawn(['daemon', 'status', '--json'], auto)).stdout)).toMatchObject({ answered: 1 });
    await rig.spawn(['daemon', 'stop'], auto);
  });

  it('is not used when others could write its folder (they could forge answers)', async () => {
    const rig = await project();
    const base = join(rig.dir, 'shared-tmp');
    mkdirSync(base, { mode: 0o777 });
    chmodSync(base, 0o777);
    const env = { RALLYCUT_DAEMON_DIR: base };
    const refused = await rig.spawn(['daemon', 'start'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('must be a folder of this user');
    // A forged reply in a mailbox someone else prepared is never read.
    const box = mailboxDir(rig.dir, rig.env(env));
    mkdirSync(box, { recursive: true });
    writeFileSync(join(box, 'pid'), String(process.pid));
    expect(ask(box, { op: 'status' }, 200)).toBeUndefined();
    expect(readdirSync(box)).toEqual(['pid']);
  });

  it('stops on request, when idle, and when the project folder is removed', async () => {
    const rig = await project();
    expect((await rig.spawn(['daemon', 'start'])).code).toBe(0);
    expect((await rig.spawn(['daemon', 'stop'])).stdout).toBe('daemon stopped\n');
    expect(existsSync(mailboxDir(rig.dir, rig.env()))).toBe(false);
    expect((await rig.spawn(['daemon', 'status'])).stdout).toBe('no daemon runs for this project\n');
    expect((await rig.spawn(['repro'])).code).toBe(0);

    expect((await rig.spawn(['daemon', 'start'], { RALLYCUT_DAEMON_IDLE_MS: '300' })).code).toBe(0);
    const idle = (await daemonStatus(rig)).pid;
    await waitFor(() => !existsSync(mailboxDir(rig.dir, rig.env())) && !processAlive(idle));

    // A client of another build (the code was rebuilt): the old daemon steps aside and exits.
    expect((await rig.spawn(['daemon', 'start'])).code).toBe(0);
    const outdated = (await daemonStatus(rig)).pid;
    const fromNewBuild = { op: 'command', v: PROTOCOL_VERSION, buildId: 'a-newer-build', root: rig.dir, cwd: rig.dir, argv: ['repro'], env: {} };
    expect(ask(mailboxDir(rig.dir, rig.env()), fromNewBuild, 3000)).toEqual({ kind: 'miss', reason: 'another build' });
    await waitFor(() => !processAlive(outdated));

    // Two starts at once: one daemon.
    const both = await Promise.all([rig.spawn(['daemon', 'start']), rig.spawn(['daemon', 'start'])]);
    expect(both.map((r) => r.code)).toEqual([0, 0]);
    // The other start's daemon lost the race for the pid file and exits (perhaps after both starts returned):
    // wait for that exit, not for a fixed time; a second daemon that stayed would time this out.
    const orphan = (await daemonStatus(rig)).pid;
    await waitFor(() => daemonsIn(rig.dir).every((pid) => pid === orphan));
    expect(daemonsIn(rig.dir)).toEqual([orphan]);
    const mailbox = mailboxDir(rig.dir, rig.env());
    await rig.cleanup();
    await waitFor(() => !existsSync(mailbox) && !processAlive(orphan));
  });

  it('steps aside for a vars file behind a symlinked folder (its changes are not watched)', async () => {
    const rig = new Rig('rallycut-daemon-vars-');
    rigs.push(rig);
    await rig.write({
      'elsewhere/v.yaml': 'msg: one\n',
      'pipeline.yaml': `vars: [conf/v.yaml]\nstages:\n  a:\n    cmd: ${JSON.stringify(Rig.stageCmd('a', 'echo ${msg} > out.txt'))}\n    outs: [out.txt]\n`,
    });
    symlinkSync('elsewhere', join(rig.dir, 'conf'));
    expect((await rig.spawn(['repro'])).code).toBe(0);
    expect((await rig.spawn(['daemon', 'start'])).code).toBe(0);
    const question = await asker(rig);
    await waitFor(() => question(['repro']).reason === "'conf/v.yaml' holds a symlink");
    await rig.write({ 'elsewhere/v.yaml': 'msg: two\n' });
    expect((await rig.spawn(['repro'])).code).toBe(0);
    expect(rig.read('out.txt')).toBe('two\n');
  });
});

/**
 * A way to ask the rig's running daemon about a command line as bin/rallycut does (the rig's environment
 * plus `extraEnv`, the daemon's build id), at once and without a process start.
 */
async function asker(rig: Rig, extraEnv: Record<string, string> = {}): Promise<(argv: string[]) => { kind: string; reason?: string }> {
  const { buildId } = await daemonStatus(rig);
  const env = Object.fromEntries(Object.entries(rig.env(extraEnv)).filter((e): e is [string, string] => e[1] !== undefined));
  const mailbox = mailboxDir(rig.dir, env);
  return (argv) => {
    const res = ask(mailbox, { op: 'command', v: PROTOCOL_VERSION, buildId, root: rig.dir, cwd: rig.dir, argv, env }, 5000) as CommandResponse | undefined;
    return res ? { kind: res.kind, ...(res.kind === 'miss' ? { reason: res.reason } : {}) } : { kind: 'none' };
  };
}

async function waitFor(done: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
