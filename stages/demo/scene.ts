// What one synthetic beach-volleyball video shows, frame by frame.
//
// Everything is drawn on a small canvas (see render.ts), then scaled once to the output size by ffmpeg,
// which keeps generation cheap. Moving boxes take their per-frame positions from motion.ts. On top of the
// label-carrying motion come nuisances that do not depend on the label, so that a model has to learn the
// motion and not a shortcut: sensor noise on every frame, camera shake whose strength wanders, a slow pan,
// and lighting that drifts like passing clouds.
import type { RallySpan } from '../lib/contracts.js';
import type { Rng } from '../lib/nn/rng.js';
import { BOXES, HIDDEN, simulate, type Frame } from './motion.js';
import { Canvas, NoiseTable, Planes, yuv420Size, type Look, type Rect } from './render.js';

export const CANVAS_W = 480;
export const CANVAS_H = 270;
/** Extra border the shaking crop window moves inside. */
const MARGIN = 16;

export interface SceneOptions {
  rallies: readonly RallySpan[];
  fps: number;
  durationS: number;
  /** Output frame size as displayed (landscape). */
  width: number;
  height: number;
  /** Store the frames turned a quarter clockwise; the container's display matrix (rotation 90) turns them back. */
  storeRotated: boolean;
  /** Drop a pattern of frames so that the timestamps are uneven (a variable-frame-rate file). */
  dropFrames: boolean;
}

export interface Scene {
  frames: number;
  fps: number;
  /** Size of the frames `render` writes (yuv420p). */
  canvasWidth: number;
  canvasHeight: number;
  frameBytes: number;
  /** True for a frame the VFR pattern drops (ffmpeg's select drops it; its pixels do not matter). */
  dropped(n: number): boolean;
  /** Writes frame n (yuv420p, canvas size) into `out`. */
  render(n: number, out: Uint8Array): void;
  /** The -vf chain ffmpeg applies to the raw canvas frames: only filters that copy pixels. */
  filters: string;
}

const dropPattern = (n: number): boolean => n % 5 === 2 || n % 13 === 7;

/** Static scene: sand, sky, far dunes, court lines, net and posts. */
function drawBackground(): Planes {
  const m = MARGIN;
  const canvas = new Planes(CANVAS_W + 2 * m, CANVAS_H + 2 * m);
  canvas.fill(0xd8c08a);
  for (const r of [
    { x: 0, y: 0, w: canvas.width, h: 62 + m, rgb: 0x6f9bc8 },
    { x: 0, y: 62 + m, w: canvas.width, h: 18, rgb: 0x8a9a5b },
    { x: m + 90, y: m + 105, w: 320, h: 160, rgb: 0xf0f0f0, thickness: 2 },
    { x: m + 70, y: m + 148, w: 360, h: 3, rgb: 0x1e1e1e },
    { x: m + 68, y: m + 118, w: 3, h: 34, rgb: 0x303030 },
    { x: m + 429, y: m + 118, w: 3, h: 34, rgb: 0x303030 },
  ]) {
    canvas.draw(r);
  }
  return canvas;
}

export function buildScene(rng: Rng, opts: SceneOptions): Scene {
  const frames = Math.round(opts.durationS * opts.fps);
  const positions: Frame[] = simulate(rng.fork(1), opts.rallies, opts.fps, frames);
  const r = (lo: number, hi: number): number => lo + (hi - lo) * rng.next();
  const m = MARGIN;

  // Camera shake whose strength comes and goes (wind), plus a slow pan; lighting drifts on its own clock.
  const [g1, g2] = [r(0.08, 0.2), r(0, 6.28)];
  const gust = (t: number): number => 0.3 + 0.7 * (0.5 + 0.5 * Math.sin(g1 * t + g2));
  const [xa1, xf1, xa2, xf2, pa, pf] = [r(2, 4), r(9, 14), r(1, 3), r(4, 7), r(3, 6), r(0.03, 0.07)];
  const shakeX = (t: number): number => m + gust(t) * (xa1 * Math.sin(xf1 * t) + xa2 * Math.sin(xf2 * t)) + pa * Math.sin(pf * t);
  const [ya1, yf1, ya2, yf2] = [r(1.5, 3), r(8, 13), r(1, 2), r(3, 6)];
  const shakeY = (t: number): number => m + gust(t) * (ya1 * Math.sin(yf1 * t) + ya2 * Math.sin(yf2 * t));
  const [ba1, bf1, bp, ba2, bf2] = [r(0.03, 0.06), r(0.1, 0.3), r(0, 6.28), r(0.02, 0.04), r(0.02, 0.06)];
  const brightness = (t: number): number => ba1 * Math.sin(bf1 * t + bp) + ba2 * Math.sin(bf2 * t);
  const cf = r(0.05, 0.15);
  const contrast = (t: number): number => 1 + 0.06 * Math.sin(cf * t);
  const noiseStrength = 5 + rng.int(4);

  const canvas = new Canvas(drawBackground());
  const noiseRng = rng.fork(2);
  const noise = new NoiseTable(noiseStrength, () => noiseRng.next(), CANVAS_W * CANVAS_H);
  const noiseAt = positions.map(() => noiseRng.next()); // drawn up front: frame n always gets the same noise
  const clampCrop = (v: number, max: number): number => Math.min(max, Math.max(0, Math.floor(v)));

  return {
    frames,
    fps: opts.fps,
    canvasWidth: CANVAS_W,
    canvasHeight: CANVAS_H,
    frameBytes: yuv420Size(CANVAS_W, CANVAS_H),
    dropped: (n) => opts.dropFrames && dropPattern(n),
    render(n, out) {
      const t = n / opts.fps;
      const look: Look = {
        cropX: clampCrop(shakeX(t), 2 * m),
        cropY: clampCrop(shakeY(t), 2 * m),
        brightness: brightness(t),
        contrast: contrast(t),
      };
      const moving: Rect[] = [];
      (positions[n] ?? []).forEach(([x, y], i) => {
        const b = BOXES[i]!;
        if (x !== HIDDEN) moving.push({ x: x + m, y: y + m, w: b.w, h: b.h, rgb: b.rgb });
      });
      canvas.renderFrame(CANVAS_W, CANVAS_H, moving, look, noise.window(noiseAt[n] ?? 0), out);
    },
    filters: [
      ...(opts.dropFrames ? [`select='not(eq(mod(n,5),2))*not(eq(mod(n,13),7))'`] : []),
      `scale=${opts.width}:${opts.height}:flags=neighbor`,
      ...(opts.storeRotated ? ['transpose=clock'] : []),
    ].join(','),
  };
}
