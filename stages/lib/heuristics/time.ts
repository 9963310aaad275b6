// Frame ↔ millisecond conversion used by every output that reports times.

/** Milliseconds of a frame index: round(frame·1000/fps), e.g. frame 420 at 59.94 fps → 7007 ms. */
export function framesToMs(frame: number, fps: number): number {
  return Math.round((frame * 1000) / fps);
}
