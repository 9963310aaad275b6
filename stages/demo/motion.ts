// Per-frame positions of everything that moves in a demo video, simulated in TypeScript with the seeded
// PRNG; render.ts draws the boxes where this says, so the motion can be random rather than a sum of sines.
//
// The label lives in the motion: in a rally players sprint between spots and the ball flies in arcs over the
// net; its first second is the serve (server highlighted, ball tossed straight up). Between rallies players
// stroll back to their base spots and the ball, if seen at all, is carried by a player. Spectators walk
// behind the court whatever happens.
import type { RallySpan } from '../lib/contracts.js';
import type { Rng } from '../lib/nn/rng.js';

export interface Box {
  name: string;
  w: number;
  h: number;
  /** 0xRRGGBB */
  rgb: number;
}

/** Canvas geometry (pixels of the 480×270 drawing canvas, before the shaking crop). */
export const NET_Y = 150;
const COURT = { left: 90, right: 410, top: 105, bottom: 265 };

const PLAYERS = [
  { home: [190, 122], w: 9, h: 22, rgb: 0x2050c0, far: true },
  { home: [310, 126], w: 9, h: 22, rgb: 0x2050c0, far: true },
  { home: [175, 200], w: 14, h: 34, rgb: 0xc03020, far: false },
  { home: [320, 205], w: 14, h: 34, rgb: 0xc03020, far: false },
] as const;

export const BOXES: readonly Box[] = [
  { name: 'fan0', w: 7, h: 17, rgb: 0x2a3a5a },
  { name: 'fan1', w: 7, h: 17, rgb: 0x5a4a3a },
  { name: 'glow', w: 18, h: 38, rgb: 0xffe040 }, // server highlight, drawn under the players
  ...PLAYERS.map((p, i) => ({ name: `p${i}`, w: p.w, h: p.h, rgb: p.rgb })),
  { name: 'ball', w: 6, h: 6, rgb: 0xfafafa },
];

/** x,y per box per frame; x = HIDDEN means not drawn. */
export const HIDDEN = -1000;
export type Frame = readonly (readonly [number, number])[];

interface Walker {
  x: number;
  y: number;
  tx: number;
  ty: number;
  retarget: number; // time of the next target change
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Which rally (index) covers time t, or -1. */
function rallyAt(rallies: readonly RallySpan[], tMs: number): number {
  for (let i = 0; i < rallies.length; i++) if (tMs >= rallies[i]!.start_ms && tMs < rallies[i]!.end_ms) return i;
  return -1;
}

export function simulate(rng: Rng, rallies: readonly RallySpan[], fps: number, frames: number): Frame[] {
  const dt = 1 / fps;
  const r = (lo: number, hi: number): number => lo + (hi - lo) * rng.next();
  const walkers: Walker[] = PLAYERS.map((p) => ({ x: p.home[0], y: p.home[1], tx: p.home[0], ty: p.home[1], retarget: 0 }));
  const fans = [0, 1].map(() => ({ x: r(0, 480), v: r(6, 14) * (rng.next() < 0.5 ? -1 : 1), y: 72 + rng.int(8) }));
  const servers = rallies.map(() => 2 + rng.int(2)); // a near player serves (the camera is behind that team)
  let carrier = rng.int(4);
  let carrierUntil = 0;
  let arc = { t0: 0, dur: 1, x0: 0, y0: 0, x1: 0, y1: 0, h: 60 };
  let lastRally = -1;
  const out: Frame[] = [];
  for (let n = 0; n < frames; n++) {
    const t = n * dt;
    const ri = rallyAt(rallies, t * 1000);
    const rally = ri >= 0 ? rallies[ri]! : undefined;
    const sinceStart = rally ? t - rally.start_ms / 1000 : -1;
    const serving = rally !== undefined && sinceStart < 1;
    if (ri !== lastRally && rally) arc = { ...arc, t0: t + 1, dur: 0 }; // first arc starts after the serve
    lastRally = ri;

    // Players: sprint to random spots in a rally, stroll home between rallies; always a little sway.
    walkers.forEach((w, i) => {
      const p = PLAYERS[i]!;
      if (t >= w.retarget) {
        if (rally && !serving) {
          const yLo = p.far ? COURT.top + 4 : NET_Y + 10;
          const yHi = p.far ? NET_Y - p.h : COURT.bottom - p.h;
          w.tx = clamp(p.home[0] + r(-90, 90), COURT.left, COURT.right - p.w);
          w.ty = clamp(p.home[1] + r(-25, 25), yLo, yHi);
          w.retarget = t + r(0.4, 1.1);
        } else {
          w.tx = p.home[0] + r(-12, 12);
          w.ty = p.home[1] + r(-5, 5);
          w.retarget = t + r(2, 5);
        }
      }
      const speed = rally && !serving ? r(90, 170) : r(6, 18);
      const dx = w.tx - w.x;
      const dy = w.ty - w.y;
      const dist = Math.hypot(dx, dy);
      const step = Math.min(dist, speed * dt);
      if (dist > 0) {
        w.x += (dx / dist) * step;
        w.y += (dy / dist) * step;
      }
    });
    const sway = (i: number): number => 1.5 * Math.sin(t * (0.7 + 0.2 * i) + i);

    // Ball: tossed during the serve, arcs between random spots on alternate sides during play, carried
    // (or out of view) between rallies.
    let ball: [number, number] = [HIDDEN, 0];
    if (rally && serving) {
      const s = walkers[servers[ri]!]!;
      ball = [s.x + 4, s.y - 8 - 45 * Math.sin(Math.PI * sinceStart)];
    } else if (rally) {
      if (t >= arc.t0 + arc.dur) {
        const toFar = arc.y1 > NET_Y || arc.dur === 0;
        const [x0, y0] = arc.dur === 0 ? [walkers[servers[ri]!]!.x, walkers[servers[ri]!]!.y - 10] : [arc.x1, arc.y1];
        arc = {
          t0: t,
          dur: r(0.7, 1.3),
          x0,
          y0,
          x1: r(COURT.left, COURT.right),
          y1: toFar ? r(COURT.top, NET_Y - 20) : r(NET_Y + 20, COURT.bottom - 10),
          h: r(50, 100),
        };
      }
      const u = clamp((t - arc.t0) / arc.dur, 0, 1);
      ball = [arc.x0 + (arc.x1 - arc.x0) * u, arc.y0 + (arc.y1 - arc.y0) * u - arc.h * 4 * u * (1 - u)];
    } else {
      if (t >= carrierUntil) {
        carrier = rng.next() < 0.35 ? -1 : rng.int(4);
        carrierUntil = t + r(3, 8);
      }
      if (carrier >= 0) ball = [walkers[carrier]!.x + 5, walkers[carrier]!.y + 8];
    }

    const frame: [number, number][] = fans.map((f) => [((((f.x + f.v * t) % 520) + 520) % 520) - 20, f.y]);
    const server = rally ? walkers[servers[ri]!]! : undefined;
    frame.push(serving && server ? [server.x - 2, server.y - 2] : [HIDDEN, 0]);
    walkers.forEach((w, i) => frame.push([w.x + sway(i), w.y]));
    frame.push(ball);
    out.push(frame.map(([x, y]) => [Math.round(x), Math.round(y)] as const));
  }
  return out;
}
