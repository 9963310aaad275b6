import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CommandIO } from '../../src/handler.js';

const dir = mkdtempSync(join(tmpdir(), 'rc-segments-'));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = { cwd: dir, env: {}, out: (t) => void (out += t), err: (t) => void (err += t), isTTY: false, signal: new AbortController().signal };
  const code = await main(argv, io);
  return { code, out, err };
}

const P = { no_play: 0.1, play: 0.8, service: 0.1 };
const N = { no_play: 0.9, play: 0.05, service: 0.05 };

function writeWindows(name: string, body: unknown): string {
  writeFileSync(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
  return name;
}

// 59.94 fps, stride 96: a 5-window rally (windows 2–6), a 2-window blip (windows 12–13), then quiet.
const pattern = [N, N, P, P, P, P, P, N, N, N, N, N, P, P, N, N, N, N];
const good = {
  fps: 59.94,
  stride: 96,
  base_stride: 48,
  total_frames: pattern.length * 96,
  windows: pattern.map((probs, i) => ({ start_frame: i * 96, end_frame: i * 96 + 15, probs })),
};
writeWindows('good.json', good);

describe('rallycut segments', () => {
  it('prints segments with frames and ms (round(frame·1000/fps)) as JSON', async () => {
    const r = await cli('segments', 'good.json', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(Object.keys(report)).toEqual(['ok', 'segments', 'suggested']);
    // rally: 192..591 padded by int(2·59.94)=119 / int(3·59.94)=179 → 73..770; blip 1152..1263 → 1033..1442
    expect(report.segments).toEqual([
      { start_frame: 73, end_frame: 770, start_ms: 1218, end_ms: 12846 },
      { start_frame: 1033, end_frame: 1442, start_ms: 17234, end_ms: 24057 },
    ]);
    expect(report.suggested).toEqual([]);
  });

  it('applies --set overrides and reports suggestions with their reason and mean confidence', async () => {
    const r = await cli('segments', 'good.json', '--json', '--set', 'min_play_duration=3', '--set', 'padding_seconds=0');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.segments).toEqual([{ start_frame: 192, end_frame: 770, start_ms: 3203, end_ms: 12846 }]);
    expect(report.suggested).toEqual([{ start_frame: 1152, end_frame: 1263, reason: 'TOO_SHORT', mean_confidence: 0.8 }]);
  });

  it('uses the beach preset with --model beach', async () => {
    // beach min_gap 3 s = 179 frames: the gap 688..1151 (464 frames) is not bridged under either preset,
    // but beach density 0.3 rejects nothing here either; what differs is boundary threshold 0.4 vs 0.35
    const weak = { no_play: 0.62, play: 0.38, service: 0 };
    const v = { ...good, windows: good.windows.map((w, i) => (i === 1 ? { ...w, probs: weak } : w)) };
    writeWindows('weak.json', v);
    const indoor = JSON.parse((await cli('segments', 'weak.json', '--json')).out);
    const beach = JSON.parse((await cli('segments', 'weak.json', '--json', '--model', 'beach')).out);
    expect(indoor.segments[0].start_frame).toBe(0); // window 1 (96) extended, 96 − 119 → 0
    expect(beach.segments[0].start_frame).toBe(73);
  });

  it('prints a readable table without --json', async () => {
    const r = await cli('segments', 'good.json');
    expect(r.code).toBe(0);
    expect(r.out).toContain('2 rally segments');
    expect(r.out).toMatch(/1\s+0:01\.218\s+0:12\.846\s+11\.63\s+73\s+770/);
    expect(r.out).toContain('0 suggested');
  });

  it('rejects an unknown --set key, listing the valid ones', async () => {
    const r = await cli('segments', 'good.json', '--set', 'min_gap=4');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown heuristics parameter 'min_gap'");
    expect(r.err).toContain(
      'valid keys: min_gap_seconds, rally_continuation_seconds, boundary_confidence_threshold, min_active_density, min_play_duration, padding_seconds, padding_end_seconds',
    );
  });

  it('rejects a non-numeric --set value and an unknown model', async () => {
    expect((await cli('segments', 'good.json', '--set', 'min_gap_seconds=soon')).err).toContain("--set min_gap_seconds expects a number, got 'soon'");
    const r = await cli('segments', 'good.json', '--model', 'grass');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown heuristics model 'grass'");
  });

  const bad: [string, unknown, RegExp][] = [
    [
      'a missing probability',
      { ...good, windows: good.windows.map((w, i) => (i === 3 ? { ...w, probs: { no_play: 0.5, play: 0.5 } } : w)) },
      /\[windows\[3\]\.probs\.service\] window 3: probability 'service' is missing/,
    ],
    [
      'a probability that is not a number',
      { ...good, windows: good.windows.map((w, i) => (i === 4 ? { ...w, probs: { ...P, play: '0.8' } } : w)) },
      /\[windows\[4\]\.probs\.play\] window 4: probability 'play' must be a number, got "0\.8"/,
    ],
    [
      'missing probs',
      { ...good, windows: good.windows.map((w, i) => (i === 2 ? { start_frame: w.start_frame, end_frame: w.end_frame } : w)) },
      /\[windows\[2\]\.probs\] window 2: probs is missing/,
    ],
    [
      'windows out of order',
      { ...good, windows: [good.windows[0], good.windows[2], good.windows[1]] },
      /\[windows\[2\]\.start_frame\] window 2 is out of order: it starts at frame 96, not after window 1 \(frame 192\)/,
    ],
    ['fps of 0', { ...good, fps: 0 }, /\[fps\] fps must be > 0, got 0/],
    ['negative fps', { ...good, fps: -30 }, /\[fps\] fps must be > 0, got -30/],
    ['no windows array', { fps: 30, total_frames: 10 }, /\[windows\] windows must be an array/],
  ];
  for (const [what, body, message] of bad) {
    it(`names the key for ${what}`, async () => {
      const name = writeWindows(`bad-${what.replace(/\W+/g, '-')}.json`, body);
      const r = await cli('segments', name, '--json');
      expect(r.code).toBe(2);
      expect(r.err).toContain(name);
      expect(r.err).toMatch(message);
    });
  }

  it('names the file for unreadable input', async () => {
    writeWindows('broken.json', '{ "fps": 30, ');
    const broken = await cli('segments', 'broken.json');
    expect(broken.code).toBe(2);
    expect(broken.err).toMatch(/broken\.json: error: invalid JSON/);
    const missing = await cli('segments', 'nope.json');
    expect(missing.err).toMatch(/nope\.json: error: file not found/);
  });
});
