// Tool versions go into every prepare/extract-features fingerprint. They are remembered on disk per binary,
// so a later process does not start ffmpeg twice just to print a version, and asked again when the binary
// is replaced. Stand-in binaries (shell scripts) count how often they are run.
import { promises as fs, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledFfmpeg, describeFfmpegVersion, ffmpegVersions, findFfmpeg, toolVersion } from './ffmpeg.js';

let work: string;
let log: string;

async function writeTool(name: string, version: string): Promise<string> {
  const path = join(work, name);
  await fs.writeFile(path, `#!/bin/sh\necho ${name} >> '${log}'\necho '${name} version ${version}'\necho 'built with a test'\n`, { mode: 0o755 });
  return path;
}

const runs = async (): Promise<string[]> => (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);

beforeAll(async () => {
  work = await fs.mkdtemp(join(tmpdir(), 'rallycut-ffmpeg-versions-'));
  log = join(work, 'runs.log');
  // findFfmpeg remembers its first answer for the process: set the stand-ins before anything asks.
  process.env.RALLYCUT_FFMPEG = await writeTool('ffmpeg', '9.9-one');
  process.env.RALLYCUT_FFPROBE = await writeTool('ffprobe', '9.9-one');
  expect(findFfmpeg().source).toBe('env');
});

afterAll(async () => {
  delete process.env.RALLYCUT_FFMPEG;
  delete process.env.RALLYCUT_FFPROBE;
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('ffmpegVersions', () => {
  it('runs each tool once, then answers from <cache>/tools/versions.json; a replaced binary is asked again', async () => {
    const cacheDir = join(work, 'cache');
    expect(await ffmpegVersions({ cacheDir })).toEqual({ ffmpeg: 'ffmpeg version 9.9-one', ffprobe: 'ffprobe version 9.9-one' });
    expect((await runs()).sort()).toEqual(['ffmpeg', 'ffprobe']);
    const remembered = JSON.parse(await fs.readFile(join(cacheDir, 'tools', 'versions.json'), 'utf8')) as Record<string, { version: string }>;
    expect(remembered[process.env.RALLYCUT_FFMPEG!]?.version).toBe('ffmpeg version 9.9-one');

    expect(await ffmpegVersions({ cacheDir })).toEqual({ ffmpeg: 'ffmpeg version 9.9-one', ffprobe: 'ffprobe version 9.9-one' });
    expect(await runs()).toHaveLength(2);

    // An upgrade replaces the file (new inode, size, mtime): the new version is asked for and remembered.
    await fs.rm(process.env.RALLYCUT_FFMPEG!);
    await writeTool('ffmpeg', '10.0-two');
    expect((await ffmpegVersions({ cacheDir })).ffmpeg).toBe('ffmpeg version 10.0-two');
    expect((await runs()).filter((r) => r === 'ffmpeg')).toHaveLength(2);
    expect((await ffmpegVersions({ cacheDir })).ffmpeg).toBe('ffmpeg version 10.0-two');
    expect(await runs()).toHaveLength(3);
  });

  it('a damaged versions file is only a cache: the answer is still right and the file is rewritten', async () => {
    const cacheDir = join(work, 'cache-damaged');
    await fs.mkdir(join(cacheDir, 'tools'), { recursive: true });
    await fs.writeFile(join(cacheDir, 'tools', 'versions.json'), '{"truncated":');
    expect(await ffmpegVersions({ cacheDir })).toEqual({ ffmpeg: 'ffmpeg version 10.0-two', ffprobe: 'ffprobe version 9.9-one' });
    const rewritten = JSON.parse(await fs.readFile(join(cacheDir, 'tools', 'versions.json'), 'utf8')) as Record<string, { version: string }>;
    expect(
      Object.values(rewritten)
        .map((r) => r.version)
        .sort(),
    ).toEqual(['ffmpeg version 10.0-two', 'ffprobe version 9.9-one']);
  });

  it('an answer read from the cache folder also serves later callers without one', async () => {
    const cacheDir = join(work, 'cache-seed');
    await fs.rm(process.env.RALLYCUT_FFPROBE!);
    await writeTool('ffprobe', '9.9-three');
    const tools = [process.env.RALLYCUT_FFMPEG!, process.env.RALLYCUT_FFPROBE!];
    // Another process remembered this binary's version: written as it would have written it.
    const key = (p: string): string => {
      const st = statSync(p);
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    };
    await fs.mkdir(join(cacheDir, 'tools'), { recursive: true });
    await fs.writeFile(
      join(cacheDir, 'tools', 'versions.json'),
      JSON.stringify({ [tools[1]!]: { key: key(tools[1]!), version: 'ffprobe version from-disk' } }),
    );
    const before = await runs();
    expect((await ffmpegVersions({ cacheDir })).ffprobe).toBe('ffprobe version from-disk');
    expect((await ffmpegVersions()).ffprobe).toBe('ffprobe version from-disk');
    expect((await runs()).slice(before.length)).toEqual([]);
  });

  it('without a cache folder, a version is asked once per binary for the process', async () => {
    await fs.rm(process.env.RALLYCUT_FFPROBE!);
    await writeTool('ffprobe', '10.0-two');
    const before = await runs();
    expect(await ffmpegVersions()).toEqual({ ffmpeg: 'ffmpeg version 10.0-two', ffprobe: 'ffprobe version 10.0-two' });
    expect(await ffmpegVersions()).toEqual({ ffmpeg: 'ffmpeg version 10.0-two', ffprobe: 'ffprobe version 10.0-two' });
    expect((await runs()).slice(before.length)).toEqual(['ffprobe']);
  });
});

describe('describeFfmpegVersion', () => {
  it('names the bundled build by its release and any other by its version token', async () => {
    const bundled = bundledFfmpeg();
    if (bundled) {
      // The bundled banner says only "N-47683-g0e8eb07980-static …"; its installer package knows the release.
      const [ffmpeg, ffprobe] = await Promise.all([toolVersion(bundled.ffmpeg), toolVersion(bundled.ffprobe)]);
      expect(describeFfmpegVersion('ffmpeg', ffmpeg)).toMatch(/^\d+\.\d+(\.\d+)? \(bundled\)$/);
      expect(describeFfmpegVersion('ffprobe', ffprobe)).toMatch(/^\d+\.\d+(\.\d+)? \(bundled\)$/);
    }
    expect(describeFfmpegVersion('ffmpeg', 'ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers')).toBe('5.1.9-0+deb12u1 (system)');
    expect(describeFfmpegVersion('onnxruntime-node', '1.20.0')).toBeUndefined();
  });
});
