// Smaller hardening items of issue #21: names that are Object.prototype members, a huge matrix and
// SIGTERM while loading, a `${}` inside the user's own double quotes in a cmd.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RallycutError } from '../../src/diagnostics.js';
import { load, writeProject } from '../../src/pipeline/test-project.js';
import { distIsFresh, Rig } from '../rig.js';

const rigs: Rig[] = [];
const newRig = (prefix: string): Rig => {
  const rig = new Rig(prefix);
  rigs.push(rig);
  return rig;
};
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.cleanup();
});

describe('stage and remote names that are Object.prototype members', () => {
  const NAMES = ['constructor', 'toString', '__proto__'];

  it('are ordinary stages: run, locked, then up to date', async () => {
    const rig = newRig('rallycut-proto-');
    const stages = NAMES.map(
      (n, i) => `  ${n}:\n    cmd: ${JSON.stringify(Rig.stageCmd(n, `cp in.txt out${i}.txt`))}\n    deps: [in.txt]\n    outs: [out${i}.txt]\n`,
    );
    await rig.write({ 'in.txt': 'x\n', 'pipeline.yaml': `stages:\n${stages.join('')}` });
    const first = await rig.run(['repro']);
    expect(first.code, first.stderr).toBe(0);
    expect((await rig.invocations()).sort()).toEqual([...NAMES].sort());
    for (const n of NAMES) expect(rig.read('pipeline.lock')).toContain(`  ${n}:\n`);
    const again = await rig.run(['repro']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('skipped 3');
    const status = await rig.run(['status']);
    expect(status.code, status.stderr).toBe(0);
  });

  it('a remote is found only when configured', async () => {
    const rig = newRig('rallycut-proto-remote-');
    const remote = mkdtempSync(join(tmpdir(), 'rallycut-proto-remote-dir-'));
    try {
      await rig.write({ 'pipeline.yaml': `stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n` });
      expect((await rig.run(['repro'])).code).toBe(0);
      const missing = await rig.run(['push', '-r', 'toString']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("no remote named 'toString'");
      expect((await rig.run(['remote', 'add', 'constructor', remote])).code).toBe(0);
      const pushed = await rig.run(['push', '-r', 'constructor']);
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(pushed.stdout).toContain('1 object(s) uploaded');
    } finally {
      await fs.rm(remote, { recursive: true, force: true });
    }
  });
});

/** pipeline.yaml with one matrix stage of side × side items. */
function bigMatrix(side: number): string {
  const axis = JSON.stringify([...Array(side).keys()]);
  return `stages:\n  m:\n    matrix:\n      x: ${axis}\n      y: ${axis}\n    do:\n      cmd: echo \${item.x} > o-\${item.x}-\${item.y}.txt\n      outs: [o-\${item.x}-\${item.y}.txt]\n`;
}

describe('a very large matrix', () => {
  it('loading gives the event loop turns, so an abort (SIGTERM, Ctrl-C) stops it', async () => {
    const root = writeProject({ 'pipeline.yaml': bigMatrix(70) }); // 4,900 stages, under the cap
    try {
      const controller = new AbortController();
      let fired = false;
      setTimeout(() => {
        fired = true;
        controller.abort();
      }, 50);
      const err = await load(root, { signal: controller.signal, cacheDir: join(root, '.cache') }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(fired).toBe(true);
      expect(err).toBeInstanceOf(RallycutError);
      expect((err as RallycutError).message).toBe('interrupted while loading pipeline.yaml');
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it('a real SIGTERM stops a status of 4,900 stages, saying so', async () => {
    const rig = newRig('rallycut-sigterm-');
    await rig.write({ 'pipeline.yaml': bigMatrix(70) });
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'rallycut');
    const child = spawn(process.execPath, [bin, 'status'], {
      cwd: rig.dir,
      env: rig.env(distIsFresh() ? {} : { RALLYCUT_FROM_SOURCE: '1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The cache folder appears while pipeline.yaml is read (the CLI's signal handlers are in place by then);
    // should it not, 1.5 s is past the CLI's start and far before 4,900 stages are checked.
    for (let waited = 0; !existsSync(join(rig.dir, '.cache')) && waited < 1500; waited += 20) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    const sent = Date.now();
    const code = await closed;
    expect(stderr).toContain('interrupted');
    expect(code).toBe(1);
    expect(Date.now() - sent).toBeLessThan(20_000); // generous for a loaded machine: without the fix it runs to the end, saying nothing
  }, 60_000);
});

describe('a ${} inside the quotes of a cmd', () => {
  it('is warned about at its position, with the quoted and the bare forms told apart', async () => {
    const rig = newRig('rallycut-quoted-');
    await rig.write({
      'params/default.yaml': 'msg: hello\n',
      'pipeline.yaml': [
        'stages:',
        '  a:',
        `    cmd: echo "say \${msg}" > a.txt && echo '\${msg}' >> a.txt && echo \${msg} >> a.txt && echo "\\\${msg}" >> a.txt`,
        '    params: [msg]',
        '    outs: [a.txt]',
        '',
      ].join('\n'),
    });
    const res = await rig.run(['repro']);
    expect(res.code, res.stderr).toBe(0);
    const warnings = res.stderr.split('\n').filter((l) => l.includes('warning:'));
    expect(warnings).toEqual([
      'pipeline.yaml:3:20: warning: [a] ${msg} sits inside quotes in cmd: there its shell quoting does not hold, and a $(...) or backtick in the value would run',
      'pipeline.yaml:3:45: warning: [a] ${msg} sits inside quotes in cmd: there its shell quoting does not hold, and a $(...) or backtick in the value would run',
    ]);
    // The warning is a warning: the stage ran; a no-op (from the parse cache) still warns.
    expect(rig.read('a.txt').startsWith('say hello\nhello\nhello\n')).toBe(true);
    expect((await rig.run(['status'])).stderr).toContain('pipeline.yaml:3:20: warning:');
  });
});
