// Finding and running ffmpeg/ffprobe: PATH first (a system build), else the npm installer binaries.
// Their versions go into stage fingerprints.
import { execFile, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { failure } from '../../src/handler.js';

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
  source: 'env' | 'path' | 'npm';
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function npmBinary(pkg: string): string | undefined {
  try {
    const mod = require(pkg) as { path?: string };
    if (!mod.path) return undefined;
    try {
      accessSync(mod.path, constants.X_OK);
    } catch {
      chmodSync(mod.path, 0o755); // the installer packages ship 0744 and npm 11 skips their postinstall
    }
    return mod.path;
  } catch {
    return undefined;
  }
}

let cached: FfmpegTools | undefined;

/** RALLYCUT_FFMPEG / RALLYCUT_FFPROBE override; then PATH; then the npm binaries. */
export function findFfmpeg(): FfmpegTools {
  if (cached) return cached;
  const envFfmpeg = process.env.RALLYCUT_FFMPEG;
  const envFfprobe = process.env.RALLYCUT_FFPROBE;
  if (envFfmpeg && envFfprobe) return (cached = { ffmpeg: envFfmpeg, ffprobe: envFfprobe, source: 'env' });
  const pathFfmpeg = onPath('ffmpeg');
  const pathFfprobe = onPath('ffprobe');
  if (pathFfmpeg && pathFfprobe) return (cached = { ffmpeg: pathFfmpeg, ffprobe: pathFfprobe, source: 'path' });
  const npmFfmpeg = npmBinary('@ffmpeg-installer/ffmpeg');
  const npmFfprobe = npmBinary('@ffprobe-installer/ffprobe');
  if (npmFfmpeg && npmFfprobe) return (cached = { ffmpeg: npmFfmpeg, ffprobe: npmFfprobe, source: 'npm' });
  throw failure('ffmpeg/ffprobe not found: install ffmpeg, or run npm ci to get the bundled binaries');
}

const versionCache = new Map<string, string>();

/** First line of `-version`, e.g. "ffmpeg version 5.1.6-0+deb12u1". */
export async function toolVersion(binary: string): Promise<string> {
  const hit = versionCache.get(binary);
  if (hit) return hit;
  const { stdout } = await execFileAsync(binary, ['-version']);
  const line = stdout.split('\n')[0]?.trim() ?? 'unknown';
  versionCache.set(binary, line);
  return line;
}

export async function ffmpegVersions(): Promise<Record<string, string>> {
  const tools = findFfmpeg();
  return { ffmpeg: await toolVersion(tools.ffmpeg), ffprobe: await toolVersion(tools.ffprobe) };
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs a binary, collecting stdout bytes and the stderr tail; rejects with the stderr tail on failure. */
export function runTool(binary: string, args: readonly string[], opts: { signal?: AbortSignal; subject?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal } : {}) });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.length > 64_000) err = err.slice(-32_000);
    });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
      else {
        const tail = err.trim().split('\n').slice(-3).join(' | ');
        reject(failure(`${binary.split('/').pop()} failed (${sig ?? `exit ${code}`}): ${tail}`, opts.subject ? { subject: opts.subject } : {}));
      }
    });
  });
}
