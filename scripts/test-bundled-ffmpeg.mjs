// The ffmpeg-dependent tests again, with the npm-bundled ffmpeg/ffprobe first on PATH: what a fresh machine
// without a system ffmpeg runs. Part of `npm test`, so CI sees both builds (its first pass uses the system
// ffmpeg that .ci/run installs). Extra arguments go to vitest.
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** Test files and folders that run ffmpeg (keep in step with the code that calls it). */
export const FFMPEG_TESTS = ['stages/demo', 'stages/prepare', 'stages/extract-features', 'stages/cut', 'stages/lib/ffmpeg-caps.test.ts', 'stages/lib/media'];

const require = createRequire(import.meta.url);

function executable(pkg) {
  const path = require(pkg).path;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    chmodSync(path, 0o755); // the installer packages ship 0744 and npm 11 skips their postinstall
  }
  return path;
}

const shadow = mkdtempSync(join(tmpdir(), 'rallycut-bundled-ffmpeg-'));
let status = 1;
try {
  symlinkSync(executable('@ffmpeg-installer/ffmpeg'), join(shadow, 'ffmpeg'));
  symlinkSync(executable('@ffprobe-installer/ffprobe'), join(shadow, 'ffprobe'));
  const env = { ...process.env, PATH: `${shadow}${delimiter}${process.env.PATH ?? ''}` };
  delete env.RALLYCUT_FFMPEG;
  delete env.RALLYCUT_FFPROBE;
  const version = spawnSync(join(shadow, 'ffmpeg'), ['-version'], { encoding: 'utf8' }).stdout.match(/^\S+ version \S+/)?.[0];
  process.stderr.write(`\nffmpeg-dependent tests again with the bundled build first on PATH: ${version}\n`);
  const run = spawnSync(process.execPath, [join(dirname(require.resolve('vitest')), 'vitest.mjs'), 'run', ...FFMPEG_TESTS, ...process.argv.slice(2)], {
    env,
    stdio: 'inherit',
  });
  status = run.status ?? 1;
} finally {
  rmSync(shadow, { recursive: true, force: true });
}
process.exit(status);
