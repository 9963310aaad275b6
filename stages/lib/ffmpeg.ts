// Finding and running ffmpeg/ffprobe: PATH first (a system build), else the npm installer binaries.
// Their versions go into stage fingerprints.
import { execFile, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, realpathSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { failure, stableJson, tempPathFor } from '../../src/handler.js';

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

/** The ffmpeg and ffprobe on PATH, unless they are the bundled ones (tests compare builds with it). */
export function systemFfmpeg(): FfmpegTools | undefined {
  const ffmpeg = onPath('ffmpeg');
  const ffprobe = onPath('ffprobe');
  const bundled = bundledFfmpeg();
  if (!ffmpeg || !ffprobe || (bundled && realpathSync(ffmpeg) === realpathSync(bundled.ffmpeg))) return undefined;
  return { ffmpeg, ffprobe, source: 'path' };
}

/** The npm-bundled ffmpeg and ffprobe, whatever PATH holds (tests compare builds with it). */
export function bundledFfmpeg(): { ffmpeg: string; ffprobe: string } | undefined {
  const ffmpeg = npmBinary('@ffmpeg-installer/ffmpeg');
  const ffprobe = npmBinary('@ffprobe-installer/ffprobe');
  return ffmpeg && ffprobe ? { ffmpeg, ffprobe } : undefined;
}

interface BundledBuild {
  /** The release the installer package names, e.g. "4.1.0". */
  release: string;
  /** The git hash in the build's version line, e.g. "0e8eb07980". */
  hash: string;
}

const bundledBuilds = new Map<string, BundledBuild | null>();

/** The installer package's release and build hash ({ version: "20181210-g0e8eb07980" } beside package.json). */
function bundledBuild(pkg: string): BundledBuild | undefined {
  if (!bundledBuilds.has(pkg)) {
    let found: BundledBuild | null = null;
    try {
      const mod = require(pkg) as { path?: string; version?: string };
      const hash = /-g?([0-9a-f]{7,})$/.exec(mod.version ?? '')?.[1];
      const release = mod.path ? (require(join(dirname(mod.path), 'package.json')) as { version?: string }).version : undefined;
      if (hash && release) found = { release, hash };
    } catch {
      // no bundled build here
    }
    bundledBuilds.set(pkg, found);
  }
  return bundledBuilds.get(pkg) ?? undefined;
}

/**
 * ffmpeg/ffprobe versions as `status` and `repro` name them: "4.1.0 (bundled)" for the npm build (its
 * banner says only "N-47683-g0e8eb07980-static"), "5.1.9-0+deb12u1 (system)" for any other.
 */
export function describeFfmpegVersion(tool: string, version: string): string | undefined {
  const token = /^\S+ version (\S+)/.exec(version)?.[1];
  if (!token || (tool !== 'ffmpeg' && tool !== 'ffprobe')) return undefined;
  const bundled = bundledBuild(tool === 'ffmpeg' ? '@ffmpeg-installer/ffmpeg' : '@ffprobe-installer/ffprobe');
  return bundled && token.includes(bundled.hash) ? `${bundled.release} (bundled)` : `${token} (system)`;
}

/** RALLYCUT_FFMPEG / RALLYCUT_FFPROBE override; then PATH; then the npm binaries. */
export function findFfmpeg(): FfmpegTools {
  if (cached) return cached;
  const envFfmpeg = process.env.RALLYCUT_FFMPEG;
  const envFfprobe = process.env.RALLYCUT_FFPROBE;
  if (envFfmpeg && envFfprobe) return (cached = { ffmpeg: envFfmpeg, ffprobe: envFfprobe, source: 'env' });
  const pathFfmpeg = onPath('ffmpeg');
  const pathFfprobe = onPath('ffprobe');
  if (pathFfmpeg && pathFfprobe) return (cached = { ffmpeg: pathFfmpeg, ffprobe: pathFfprobe, source: 'path' });
  const bundled = bundledFfmpeg();
  if (bundled) return (cached = { ...bundled, source: 'npm' });
  throw failure('ffmpeg/ffprobe not found: install ffmpeg, or run npm ci to get the bundled binaries');
}

/** Identity of a file (device, inode, size, mtime); it changes when the file is replaced. */
export function identity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

const versionCache = new Map<string, Promise<string>>();

/** First line of `-version`, e.g. "ffmpeg version 5.1.6-0+deb12u1". */
export function toolVersion(binary: string): Promise<string> {
  const key = `${binary}|${identity(binary) ?? ''}`; // a binary replaced while we run is asked again
  let hit = versionCache.get(key);
  if (!hit) {
    hit = execFileAsync(binary, ['-version']).then(({ stdout }) => stdout.split('\n')[0]?.trim() ?? 'unknown');
    hit.catch(() => versionCache.delete(key)); // a failed attempt is not remembered
    versionCache.set(key, hit);
  }
  return hit;
}

// `-version` costs a process start (~0.15–0.25 s for a distro ffmpeg linked against ~200 libraries), and
// every repro needs the versions for its fingerprints. The first line is compiled into the binary, so it
// is remembered on disk per binary, keyed by the file's identity (device, inode, size, mtime): an upgrade
// or another binary on PATH changes the key.
const VERSIONS_FILE = join('tools', 'versions.json');

interface RememberedVersion {
  key: string;
  version: string;
}

/** A JSON object remembered under <cache>/tools/ (entries per binary path); {} when absent or damaged. */
export async function readRemembered<T>(file: string): Promise<Record<string, T>> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, T>) : {};
  } catch {
    return {}; // absent or damaged: asked again
  }
}

/**
 * Versions of the ffmpeg and ffprobe in use, for fingerprints. With `cacheDir`, remembered in
 * <cacheDir>/tools/versions.json so later processes skip the two `-version` runs.
 */
export async function ffmpegVersions(opts: { cacheDir?: string } = {}): Promise<Record<string, string>> {
  const tools = findFfmpeg();
  const binaries = { ffmpeg: tools.ffmpeg, ffprobe: tools.ffprobe };
  if (!opts.cacheDir) {
    const [ffmpeg, ffprobe] = await Promise.all([toolVersion(tools.ffmpeg), toolVersion(tools.ffprobe)]);
    return { ffmpeg, ffprobe };
  }
  const file = join(opts.cacheDir, VERSIONS_FILE);
  const remembered = await readRemembered<RememberedVersion>(file);
  let changed = false;
  const out: Record<string, string> = {};
  await Promise.all(
    Object.entries(binaries).map(async ([name, path]) => {
      const key = identity(path);
      const known = remembered[path];
      if (key && known && known.key === key && typeof known.version === 'string') {
        out[name] = known.version;
        // Later callers in this process without a cache folder get it too.
        if (!versionCache.has(`${path}|${key}`)) versionCache.set(`${path}|${key}`, Promise.resolve(known.version));
        return;
      }
      out[name] = await toolVersion(path);
      if (key) {
        remembered[path] = { key, version: out[name] };
        changed = true;
      }
    }),
  );
  if (changed) await remember(file, stableJson(remembered));
  return { ffmpeg: out.ffmpeg!, ffprobe: out.ffprobe! };
}

/** Temp file + rename, without fsync: a file torn by a crash fails to parse and is simply asked again. */
export async function remember(file: string, text: string): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch {
    await rm(tmp, { force: true }); // only a cache: never fails the caller
  }
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  subject?: string;
  /** Scheduling priority (nice, 0–19) of the process: a side job that must not slow the main one. */
  niceness?: number;
  /** Writes the process's stdin, which is then ended (without it stdin is closed). It should stop quietly when
   * the pipe breaks, since ffmpeg's exit status and stderr say why; if it rejects, that error is reported. */
  feed?(stdin: Writable): Promise<void>;
}

/** Runs a binary, collecting stdout bytes and the stderr tail; rejects with the stderr tail on failure. */
export function runTool(binary: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let feedError: unknown;
    const child = spawn(binary, args, { stdio: [opts.feed ? 'pipe' : 'ignore', 'pipe', 'pipe'], ...(opts.signal ? { signal: opts.signal } : {}) });
    if (opts.feed && child.stdin) {
      const stdin = child.stdin;
      stdin.on('error', () => undefined); // EPIPE when ffmpeg exits early: its exit status tells why
      opts.feed(stdin).then(
        () => stdin.end(),
        (e: unknown) => {
          feedError = e;
          child.kill('SIGKILL');
        },
      );
    }
    if (opts.niceness && child.pid !== undefined) {
      try {
        setPriority(child.pid, opts.niceness);
      } catch {
        // not allowed here: it runs at normal priority
      }
    }
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.length > 64_000) err = err.slice(-32_000);
    });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (feedError !== undefined) reject(feedError);
      else if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
      else {
        const tail = err.trim().split('\n').slice(-3).join(' | ');
        reject(failure(`${binary.split('/').pop()} failed (${sig ?? `exit ${code}`}): ${tail}`, opts.subject ? { subject: opts.subject } : {}));
      }
    });
  });
}
