// The ffmpeg filter graph that draws one synthetic beach-volleyball video.
//
// Everything is drawn on a small canvas (a flat `color` source plus `drawbox`es), then scaled once to the
// output size, which keeps generation cheap. Moving boxes take their per-frame positions from a sendcmd
// script (see motion.ts). On top of the label-carrying motion come nuisances that do not depend on the label,
// so that a model has to learn the motion and not a shortcut: sensor noise on every frame, camera shake whose
// strength wanders, a slow pan, and lighting that drifts like passing clouds.
import type { RallySpan } from '../lib/contracts.js';
import type { Rng } from '../lib/nn/rng.js';
import { BOXES, HIDDEN, sendcmdScript, simulate } from './motion.js';

export const CANVAS_W = 480;
export const CANVAS_H = 270;
/** Extra border the shaking crop window moves inside. */
const MARGIN = 16;

const num = (v: number, digits = 3): string => v.toFixed(digits);

function box(x: number, y: number, w: number, h: number, color: string, thickness: number | 'fill' = 'fill'): string {
  return `drawbox=x=${x}:y=${y}:w=${w}:h=${h}:c=${color}:t=${thickness}`;
}

/** Quotes a path for a filter option value; a quote inside cannot be escaped portably, so it is refused. */
function quotePath(path: string): string {
  if (path.includes("'")) throw new Error(`demo: the output path may not contain a single quote: ${path}`);
  return `'${path}'`;
}

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
  /** The sendcmd script to write to the path given to `graph`. */
  commands: string;
  /** The -filter_complex graph (lavfi source included), reading its commands from `commandsPath`; output pad [out]. */
  graph(commandsPath: string): string;
}

export function buildScene(rng: Rng, opts: SceneOptions): Scene {
  const frames = Math.round(opts.durationS * opts.fps);
  const commands = sendcmdScript(simulate(rng.fork(1), opts.rallies, opts.fps, frames), opts.fps, [MARGIN, MARGIN]);
  const r = (lo: number, hi: number): number => lo + (hi - lo) * rng.next();
  const m = MARGIN;
  const baseW = CANVAS_W + 2 * m;

  // Static scene: sky, far dunes, court lines, net and posts.
  const background = [
    `color=c=0xd8c08a:s=${baseW}x${CANVAS_H + 2 * m}:r=${opts.fps}:d=${num(opts.durationS)}`,
    'format=yuv444p',
    box(0, 0, baseW, 62 + m, '0x6f9bc8'),
    box(0, 62 + m, baseW, 18, '0x8a9a5b'),
    box(m + 90, m + 105, 320, 160, '0xf0f0f0', 2),
    box(m + 70, m + 148, 360, 3, '0x1e1e1e'),
    box(m + 68, m + 118, 3, 34, '0x303030'),
    box(m + 429, m + 118, 3, 34, '0x303030'),
  ];
  const moving = BOXES.map((b) => `drawbox@${b.name}=x=${HIDDEN}:y=0:w=${b.w}:h=${b.h}:c=${b.color}:t=fill`);

  // Camera shake whose strength comes and goes (wind), plus a slow pan; lighting drifts on its own clock.
  const gust = `(0.3+0.7*(0.5+0.5*sin(${num(r(0.08, 0.2))}*t+${num(r(0, 6.28))})))`;
  const shakeX = `${m}+${gust}*(${num(r(2, 4))}*sin(${num(r(9, 14))}*t)+${num(r(1, 3))}*sin(${num(r(4, 7))}*t))+${num(r(3, 6))}*sin(${num(r(0.03, 0.07))}*t)`;
  const shakeY = `${m}+${gust}*(${num(r(1.5, 3))}*sin(${num(r(8, 13))}*t)+${num(r(1, 2))}*sin(${num(r(3, 6))}*t))`;
  const bright = `${num(r(0.03, 0.06))}*sin(${num(r(0.1, 0.3))}*t+${num(r(0, 6.28))})+${num(r(0.02, 0.04))}*sin(${num(r(0.02, 0.06))}*t)`;
  const contrast = `1+0.06*sin(${num(r(0.05, 0.15))}*t)`;
  const noise = 5 + rng.int(4);

  const finish = [
    `crop=${CANVAS_W}:${CANVAS_H}:x='${shakeX}':y='${shakeY}'`,
    `eq=brightness='${bright}':contrast='${contrast}':eval=frame`,
    `noise=c0s=${noise}:c0f=t`,
    ...(opts.dropFrames ? [`select='not(eq(mod(n,5),2))*not(eq(mod(n,13),7))'`] : []),
    `scale=${opts.width}:${opts.height}:flags=fast_bilinear`,
    'format=yuv420p',
    ...(opts.storeRotated ? ['transpose=clock'] : []),
  ];
  return {
    commands,
    graph: (commandsPath) => [...background, `sendcmd=f=${quotePath(commandsPath)}`, ...moving, ...finish].join(',') + '[out]',
  };
}
