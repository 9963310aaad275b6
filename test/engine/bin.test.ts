// bin/rallycut picks what to run: the daemon client first (repro/status, fresh bundle only), then the bundle
// unless a later tsc made it stale, then the compiled modules. Checked on a copy of bin/ inside a temp
// install whose dist/ holds stubs that say who ran, so the real dist/ is never touched while other test
// files use it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'rallycut-bin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function install(): void {
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
  mkdirSync(join(root, 'dist', 'src', 'cli'), { recursive: true });
  copyFileSync(join(REPO, 'bin', 'rallycut'), join(root, 'bin', 'rallycut'));
  copyFileSync(join(REPO, 'bin', 'package.json'), join(root, 'bin', 'package.json'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
  const stub = (who: string): string => `export async function main(argv) { process.stdout.write('${who} ' + argv.join(' ') + '\\n'); return 3; }\n`;
  writeFileSync(join(root, 'dist', 'cli', 'rallycut.mjs'), stub('bundle'));
  writeFileSync(join(root, 'dist', 'src', 'cli', 'main.js'), stub('modules'));
  writeFileSync(
    join(root, 'dist', 'cli', 'daemon-client.cjs'),
    "exports.askDaemon = (argv) => argv[0] === 'status' ? { stdout: 'daemon says up to date\\n', stderr: 'from memory\\n', code: 0 } : undefined;\n",
  );
  writeFileSync(join(root, 'dist', '.tsbuildinfo'), '{}');
}

/** Makes the bundle older (stale: tsc ran after it) or newer than dist/.tsbuildinfo. */
function bundleAge(fresh: boolean): void {
  const now = Date.now() / 1000;
  utimesSync(join(root, 'dist', '.tsbuildinfo'), now - 100, now - 100);
  const t = fresh ? now : now - 200;
  utimesSync(join(root, 'dist', 'cli', 'rallycut.mjs'), t, t);
}

function bin(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'rallycut'), ...args], {
    cwd: root,
    env: { ...process.env, ...env, RALLYCUT_DAEMON: env.RALLYCUT_DAEMON ?? '' },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/rallycut', () => {
  install();

  it('runs a fresh bundle, and the daemon client answers status before it', () => {
    bundleAge(true);
    expect(bin(['repro', '-j', '2'])).toMatchObject({ code: 3, stdout: 'bundle repro -j 2\n' });
    expect(bin(['status'])).toEqual({ code: 0, stdout: 'daemon says up to date\n', stderr: 'from memory\n' });
    expect(bin(['status'], { RALLYCUT_DAEMON: '0' })).toMatchObject({ code: 3, stdout: 'bundle status\n' });
  });

  it('skips a bundle made before the last tsc, and the daemon client with it (it belongs to that bundle)', () => {
    bundleAge(false);
    expect(bin(['repro'])).toMatchObject({ code: 3, stdout: 'modules repro\n' });
    expect(bin(['status'])).toMatchObject({ code: 3, stdout: 'modules status\n' });
  });
});
