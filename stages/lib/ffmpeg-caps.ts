// What the ffmpeg in use can do, probed once per binary and version, so that a missing feature is an error
// naming it rather than a silently wrong result (ffmpeg 4.1's drawbox ignored runtime commands, and every
// demo video came out motionless). Remembered in <cache>/tools/capabilities.json beside versions.json, keyed
// by the binary's identity and version line.
import { join } from 'node:path';
import { failure, stableJson } from '../../src/handler.js';
import { ffmpegVersions, findFfmpeg, identity, readRemembered, remember, runTool, toolVersion, type FfmpegTools } from './ffmpeg.js';

export interface FfmpegCapabilities {
  version: string;
  /** Filter name → its flags column of `ffmpeg -filters` (T timeline, S slice threads, C runtime commands). */
  filters: Record<string, string>;
  encoders: string[];
  /** Command-line options `ffmpeg -h long` lists, e.g. "-fps_mode". */
  options: string[];
  /** The frame-number select expressions extract-features uses pick the frames they should. */
  selectByFrameNumber: boolean;
}

export type FfmpegFeature = { filter: string; commands?: boolean } | { encoder: string } | { option: string } | { selectByFrameNumber: true };

const CAPS_FILE = join('tools', 'capabilities.json');
// Bump when the probe changes, so that remembered answers of an older probe are asked again.
const PROBE_VERSION = 1;

interface RememberedCaps {
  key: string;
  probe: number;
  caps: FfmpegCapabilities;
}

/** Rows of `-filters`: " T.C drawbox  V->V  Draw a colored box…" (two flag columns before 4.3, three after). */
export function parseFilters(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([TSC.]{2,3})\s+(\S+)\s+\S*->\S*\s/.exec(line);
    if (m) out[m[2]!] = m[1]!;
  }
  return out;
}

/** Rows of `-encoders` after the legend: " V....D libx264  libx264 H.264…". */
export function parseEncoders(text: string): string[] {
  const body = text.split(/^\s*-{6}\s*$/m)[1] ?? '';
  return body
    .split('\n')
    .map((l) => /^\s*[VAS][A-Z.]{5}\s+(\S+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

export function parseOptions(text: string): string[] {
  return [
    ...new Set(
      text
        .split('\n')
        .map((l) => /^(-[A-Za-z0-9_:]+)/.exec(l)?.[1])
        .filter((o): o is string => o !== undefined),
    ),
  ].sort();
}

// Frames 0–9 at 10 fps; this keeps n mod 5 < 2 and n < 8, i.e. 0 1 5 6, as extract-features' windows do.
const SELECT_PROBE = ['-f', 'lavfi', '-i', 'color=s=16x16:r=10:d=1', '-vf', "select='lt(mod(n\\,5)\\,2)*lt(n\\,8)'", '-vsync', '0', '-f', 'framemd5', '-'];

async function probe(ffmpeg: string, version: string): Promise<FfmpegCapabilities> {
  const ask = async (args: string[]): Promise<string> => (await runTool(ffmpeg, ['-hide_banner', '-nostdin', ...args])).stdout.toString();
  const [filters, encoders, options, selected] = await Promise.all([
    ask(['-filters']),
    ask(['-encoders']),
    ask(['-h', 'long']),
    ask(['-v', 'error', ...SELECT_PROBE]).catch(() => ''),
  ]);
  const picked = selected
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => Number(l.split(',')[2]));
  return {
    version,
    filters: parseFilters(filters),
    encoders: parseEncoders(encoders),
    options: parseOptions(options),
    selectByFrameNumber: picked.join(' ') === '0 1 5 6',
  };
}

const inMemory = new Map<string, Promise<FfmpegCapabilities>>();

/** The capabilities of `tools.ffmpeg` (default: the one in use); with `cacheDir`, remembered on disk. */
export async function ffmpegCapabilities(opts: { cacheDir?: string; tools?: FfmpegTools } = {}): Promise<FfmpegCapabilities> {
  const path = (opts.tools ?? findFfmpeg()).ffmpeg;
  // The version comes from <cache>/tools/versions.json when it can: no process start on a warm cache.
  const version = !opts.tools && opts.cacheDir ? (await ffmpegVersions({ cacheDir: opts.cacheDir })).ffmpeg! : await toolVersion(path);
  const key = `${identity(path) ?? ''}|${version}`;
  const memo = inMemory.get(`${path}|${key}`);
  if (memo) return memo;
  const file = opts.cacheDir ? join(opts.cacheDir, CAPS_FILE) : undefined;
  const remembered = file ? await readRemembered<RememberedCaps>(file) : {};
  const known = remembered[path];
  if (known && known.key === key && known.probe === PROBE_VERSION && known.caps) return known.caps;
  const probing = probe(path, version);
  inMemory.set(`${path}|${key}`, probing);
  probing.catch(() => inMemory.delete(`${path}|${key}`));
  const caps = await probing;
  if (file && identity(path)) await remember(file, stableJson({ ...remembered, [path]: { key, probe: PROBE_VERSION, caps } }));
  return caps;
}

export function featureName(f: FfmpegFeature): string {
  if ('filter' in f) return f.commands ? `runtime commands of the ${f.filter} filter` : `the ${f.filter} filter`;
  if ('encoder' in f) return `the ${f.encoder} encoder`;
  if ('option' in f) return `the ${f.option} option`;
  return 'frame-number select expressions (select=lt(mod(n,…)))';
}

export function hasFeature(caps: FfmpegCapabilities, f: FfmpegFeature): boolean {
  if ('filter' in f) {
    const flags = caps.filters[f.filter];
    return flags !== undefined && (!f.commands || flags.includes('C'));
  }
  if ('encoder' in f) return caps.encoders.includes(f.encoder);
  if ('option' in f) return caps.options.includes(f.option);
  return caps.selectByFrameNumber;
}

export const GET_FFMPEG =
  'install a current ffmpeg with libx264 (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) and put it first on PATH, ' +
  'or point RALLYCUT_FFMPEG and RALLYCUT_FFPROBE at a suitable build';

const SOURCE_TEXT: Record<FfmpegTools['source'], string> = {
  env: 'from RALLYCUT_FFMPEG',
  path: 'from PATH',
  npm: 'the bundled @ffmpeg-installer build',
};

/** "ffmpeg version 5.1.6-0+deb12u1" of a whole `-version` line (build URL and copyright dropped). */
export function shortVersion(line: string): string {
  return /^\S+ version \S+/.exec(line)?.[0] ?? line;
}

/** One line naming the ffmpeg in use: its version, path and where it was found. */
export function describeFfmpeg(tools: FfmpegTools, version: string): string {
  return `${shortVersion(version)} at ${tools.ffmpeg} (${SOURCE_TEXT[tools.source]}); ffprobe at ${tools.ffprobe}`;
}

let announced = false;

/**
 * The capabilities of the ffmpeg in use, after checking that it has every feature `who` needs; a missing one
 * is a failure naming the feature, the binary and its version. With `log`, the first call of the process
 * prints which ffmpeg is in use.
 */
export async function requireFfmpeg(
  who: string,
  features: readonly FfmpegFeature[],
  opts: { cacheDir?: string; log?: (m: string) => void } = {},
): Promise<FfmpegCapabilities> {
  const tools = findFfmpeg();
  const caps = await ffmpegCapabilities(opts.cacheDir ? { cacheDir: opts.cacheDir } : {});
  if (opts.log && !announced) {
    announced = true;
    opts.log(`ffmpeg: ${describeFfmpeg(tools, caps.version)}`);
  }
  const missing = features.filter((f) => !hasFeature(caps, f));
  if (missing.length) {
    throw failure(`${who} needs ${missing.map(featureName).join(', ')}, which the ffmpeg at ${tools.ffmpeg} (${shortVersion(caps.version)}) lacks`, {
      subject: tools.ffmpeg,
      notes: [GET_FFMPEG],
    });
  }
  return caps;
}

/** Arguments for a frame-rate mode: -fps_mode where the build has it, else the older -vsync (4.x). */
export function fpsModeArgs(caps: FfmpegCapabilities, mode: 'cfr' | 'vfr' | 'passthrough'): string[] {
  if (caps.options.includes('-fps_mode')) return ['-fps_mode', mode];
  return ['-vsync', mode === 'passthrough' ? '0' : mode];
}
