// Capability probes on the real builds (the system ffmpeg and the bundled 4.1), and the error a missing
// feature gives. Stand-in binaries (shell scripts) show that a probe runs once per binary and version.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RallycutError } from '../../src/handler.js';
import { bundledFfmpeg, systemFfmpeg } from './ffmpeg.js';
import { ffmpegCapabilities, fpsModeArgs, requireFfmpeg } from './ffmpeg-caps.js';

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(join(tmpdir(), 'rallycut-ffmpeg-caps-'));
});
afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const bundled = bundledFfmpeg();
const system = systemFfmpeg();

describe('ffmpeg capabilities of the real builds', () => {
  it.skipIf(!bundled)('the bundled 4.1: drawbox without runtime commands, -vsync but no -fps_mode, libx264, frame-number select', async () => {
    const caps = await ffmpegCapabilities({ tools: { ...bundled!, source: 'npm' } });
    expect(caps.filters.drawbox).toBe('T..'); // why the old demo's boxes never moved
    expect(caps.filters.select).toBeDefined();
    expect(caps.encoders).toContain('libx264');
    expect(caps.options).toContain('-vsync');
    expect(caps.options).not.toContain('-fps_mode');
    expect(caps.selectByFrameNumber).toBe(true);
    expect(fpsModeArgs(caps, 'passthrough')).toEqual(['-vsync', '0']);
  });

  it.skipIf(!system)('the system ffmpeg (5.1 on CI): drawbox commands and -fps_mode', async () => {
    const caps = await ffmpegCapabilities({ tools: system! });
    expect(caps.filters.drawbox).toContain('C');
    expect(caps.encoders).toContain('libx264');
    expect(fpsModeArgs(caps, 'vfr')).toEqual(['-fps_mode', 'vfr']);
    expect(caps.selectByFrameNumber).toBe(true);
  });
});

/** A stand-in ffmpeg: answers -version, -filters, -encoders and -h long from text, logging each run. */
async function standIn(name: string, filters: string): Promise<{ path: string; runs: () => Promise<string[]> }> {
  const dir = join(work, name);
  await fs.mkdir(dir, { recursive: true });
  const log = join(dir, 'runs.log');
  const path = join(dir, 'ffmpeg');
  await fs.writeFile(
    path,
    `#!/bin/sh
for a in "$@"; do case "$a" in -version|-filters|-encoders|-h|lavfi) echo "$a" >> '${log}';; esac; done
case " $* " in
  *" -version "*) echo 'ffmpeg version 3.0-standin Copyright (c) the test'; echo 'built with a test';;
  *" -filters "*) printf 'Filters:\\n  T.. = Timeline support\\n ${filters}\\n';;
  *" -encoders "*) printf 'Encoders:\\n V..... = Video\\n ------\\n V..... libx264              libx264 H.264\\n';;
  *" -h "*) printf 'Advanced options:\\n-vsync              video sync method\\n';;
  *) exit 1;;
esac
`,
    { mode: 0o755 },
  );
  return { path, runs: async () => (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean) };
}

describe('requireFfmpeg', () => {
  it('names the missing feature, the binary and its version, and how to get a suitable ffmpeg; the probe is remembered per binary', async () => {
    const tool = await standIn('old', 'T.. drawbox           V->V       Draw a colored box.');
    process.env.RALLYCUT_FFMPEG = tool.path;
    process.env.RALLYCUT_FFPROBE = tool.path;
    const cacheDir = join(work, 'cache');
    const logged: string[] = [];
    const err = await requireFfmpeg('demo init', [{ filter: 'select' }, { filter: 'drawbox', commands: true }, { encoder: 'libx264' }], {
      cacheDir,
      log: (m) => logged.push(m),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RallycutError);
    const d = (err as RallycutError).diagnostics[0]!;
    expect(d.message).toBe(
      `demo init needs the select filter, runtime commands of the drawbox filter, which the ffmpeg at ${tool.path} (ffmpeg version 3.0-standin) lacks`,
    );
    expect(d.notes?.join(' ')).toMatch(/install a current ffmpeg.*RALLYCUT_FFMPEG/);
    expect(logged).toEqual([`ffmpeg: ffmpeg version 3.0-standin at ${tool.path} (from RALLYCUT_FFMPEG); ffprobe at ${tool.path}`]);
    // The frame-number select probe failed on the stand-in: reported as missing, never assumed.
    await expect(requireFfmpeg('extract-features', [{ selectByFrameNumber: true }], { cacheDir })).rejects.toThrow(/frame-number select expressions/);

    const probed = (await tool.runs()).filter((r) => r !== '-version');
    expect(probed.sort()).toEqual(['-encoders', '-filters', '-h', 'lavfi']);
    const remembered = JSON.parse(await fs.readFile(join(cacheDir, 'tools', 'capabilities.json'), 'utf8')) as Record<string, { caps: { filters: object } }>;
    expect(remembered[tool.path]?.caps.filters).toEqual({ drawbox: 'T..' });

    // Another binary at the same path (an upgrade) is probed again.
    await fs.rm(tool.path);
    const upgraded = await standIn('old', 'T.C drawbox           V->V       Draw a colored box.\n ... select            V->N       Select video frames.');
    await requireFfmpeg('demo init', [{ filter: 'select' }, { filter: 'drawbox', commands: true }], { cacheDir });
    expect((await upgraded.runs()).filter((r) => r === '-filters')).toHaveLength(2);
  });
});
