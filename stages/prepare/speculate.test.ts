// ensureProxy starts ffmpeg on a predicted frame timing before ffprobe and the source's hash check have
// answered. Whatever the prediction, the proxy must be byte for byte what the bare ffmpeg command with
// ffprobe's answer makes; a failed hash check must stop the encode and leave nothing in the proxy store.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemo, type DemoDataset } from '../demo/generate.js';
import { TRICKY_PROFILES } from '../../test/kit/videos.js';
import { findFfmpeg, runTool } from '../lib/ffmpeg.js';
import { ffmpegCapabilities, type FfmpegCapabilities } from '../lib/ffmpeg-caps.js';
import { children, guessTiming, type TimingGuess } from '../lib/media/mp4-timing.js';
import { probeVideo } from '../lib/media/probe.js';
import { ensureProxy, proxyArgs, type ProxyRequest } from './proxy.js';

let work: string;
let demo: DemoDataset;
let caps: FfmpegCapabilities;
/** Per source: the bytes of the bare ffmpeg command with ffprobe's answer. */
const bare = new Map<string, Buffer>();

const source = (i: number): string => join(work, 'demo', demo.videos[i]!.path);

function request(i: number, cacheDir: string, extra: Partial<ProxyRequest> = {}): ProxyRequest {
  const v = demo.videos[i]!;
  return { source: source(i), subject: v.filename, content_hash: v.content_hash, source_sha256: v.sha256!, cacheDir, caps, ...extra };
}

beforeAll(async () => {
  work = await fs.mkdtemp(join(tmpdir(), 'rallycut-speculate-'));
  demo = await generateDemo({
    dir: join(work, 'demo'),
    config: { seed: 4, videos: 3, minSeconds: 4, maxSeconds: 4, timeScale: 0.25, gapScale: 1, profiles: [...TRICKY_PROFILES] },
    jobs: 2,
  });
  const { ffmpeg } = findFfmpeg();
  caps = await ffmpegCapabilities();
  for (let i = 0; i < demo.videos.length; i++) {
    const out = join(work, `bare-${i}.mp4`);
    await runTool(ffmpeg, proxyArgs(source(i), await probeVideo(source(i)), out, caps));
    bare.set(demo.videos[i]!.filename, await fs.readFile(out));
  }
});

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

async function proxyBytes(cacheDir: string, contentHash: string): Promise<Buffer> {
  return fs.readFile(join(cacheDir, 'proxies', `${contentHash}.mp4`));
}

describe('speculative encode', () => {
  it('makes the same bytes as the bare ffmpeg command, with the sample-table prediction', async () => {
    const cacheDir = join(work, 'cache-predicted');
    for (let i = 0; i < demo.videos.length; i++) {
      const v = demo.videos[i]!;
      const { info, hit } = await ensureProxy(request(i, cacheDir, { source_sha256: Promise.resolve(v.sha256!) }));
      expect(hit).toBe(false);
      const bytes = await proxyBytes(cacheDir, v.content_hash);
      expect(bytes.equals(bare.get(v.filename)!), v.filename).toBe(true);
      expect(info.height).toBe(480);
      // +faststart: the index (moov) comes before the media (mdat), so a player starts before the end arrives.
      expect(
        children(bytes, 0, bytes.length)
          .map((b) => b.type)
          .filter((t) => t === 'moov' || t === 'mdat'),
      ).toEqual(['moov', 'mdat']);
    }
  });

  it('a wrong prediction costs a restart, not different bytes', async () => {
    const cacheDir = join(work, 'cache-wrong');
    // The opposite of the truth for each source: 60 fps said to be 25 fps, 30 fps CFR said to be VFR.
    const lies: TimingGuess[] = [
      { fps: 25, avg_fps: 25, vfr: false, frames: 10 },
      { fps: 30, avg_fps: 20, vfr: true, frames: 10 },
      { fps: 25, avg_fps: 25, vfr: false, frames: 10 },
    ];
    for (let i = 0; i < demo.videos.length; i++) {
      const v = demo.videos[i]!;
      let asked = 0;
      const predict = async (): Promise<TimingGuess> => {
        asked++;
        return lies[i]!;
      };
      await ensureProxy(request(i, cacheDir, { predict }));
      expect(asked).toBe(1);
      expect((await proxyBytes(cacheDir, v.content_hash)).equals(bare.get(v.filename)!), v.filename).toBe(true);
    }
  });

  it('a failed hash check stops the running encode and leaves no proxy, sidecar or temp file', async () => {
    const cacheDir = join(work, 'cache-tampered');
    const v = demo.videos[0]!;
    // The check fails 30 ms after the encode starts: ffmpeg is still loading its libraries then.
    let fail: (e: Error) => void = () => undefined;
    const check = new Promise<string>((_, reject) => (fail = reject));
    let started = false;
    const predict = async (path: string): Promise<TimingGuess | null> => {
      started = true;
      setTimeout(() => fail(new Error('sha256 does not match the manifest')), 30);
      return guessTiming(path);
    };
    const err = await ensureProxy(request(0, cacheDir, { source_sha256: check, predict })).catch((e: unknown) => e);
    expect(started).toBe(true);
    expect((err as Error).message).toBe('sha256 does not match the manifest');
    expect(await fs.readdir(join(cacheDir, 'proxies'))).toEqual([]);
    // The store still works afterwards, and a real check lets the same source through.
    await ensureProxy(request(0, cacheDir));
    expect((await proxyBytes(cacheDir, v.content_hash)).equals(bare.get(v.filename)!)).toBe(true);
  });
});
