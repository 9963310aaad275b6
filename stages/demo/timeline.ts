// The rally/gap timeline of one synthetic match video, drawn from the real distributions (DESIGN §1):
// rallies median ~9.5 s (deciles ~5–15 s, range 3.5–35 s), gaps median ~16 s (deciles ~10–32 s, range 4.3–122 s).
// Log-normal draws clamped to the observed range. `timeScale` shrinks both (tiny test videos); `gapScale`
// shrinks gaps only, so that short demo videos still hold several rallies.
import type { RallySpan } from '../lib/contracts.js';
import type { Rng } from '../lib/nn/rng.js';

interface LogNormal {
  median: number;
  sigma: number; // of ln(x)
  min: number;
  max: number;
}

export const RALLY_SECONDS: LogNormal = { median: 9.5, sigma: 0.43, min: 3.5, max: 35 };
export const GAP_SECONDS: LogNormal = { median: 16, sigma: 0.45, min: 4.3, max: 122 };

function draw(rng: Rng, d: LogNormal, scale: number): number {
  const x = d.median * Math.exp(d.sigma * rng.normal());
  return Math.min(d.max, Math.max(d.min, x)) * scale;
}

export interface Timeline {
  duration_ms: number;
  rallies: RallySpan[];
}

/**
 * Fills `durationS` seconds with gap, rally, gap, rally, …, gap. The video opens with a part of a gap (the
 * camera starts recording between points) and ends with at least a short gap, so every rally is whole.
 * Times are whole milliseconds.
 */
export function drawTimeline(rng: Rng, durationS: number, timeScale = 1, gapScale = 1): Timeline {
  const durationMs = Math.round(durationS * 1000);
  const rallies: RallySpan[] = [];
  const gapFactor = timeScale * gapScale;
  const minTail = GAP_SECONDS.min * gapFactor;
  let t = draw(rng, GAP_SECONDS, gapFactor) * (0.25 + 0.5 * rng.next());
  for (;;) {
    const rally = draw(rng, RALLY_SECONDS, timeScale);
    if (t + rally + minTail > durationS) break;
    rallies.push({ start_ms: Math.round(t * 1000), end_ms: Math.round((t + rally) * 1000) });
    t += rally + draw(rng, GAP_SECONDS, gapFactor);
  }
  return { duration_ms: durationMs, rallies };
}
