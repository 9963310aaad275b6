// The small source videos prepare must get right: a 60 fps one (to be resampled to 30), a rotated .MOV
// (stored portrait) and a variable-frame-rate one.
import type { VideoProfile } from '../../stages/demo/plan.js';

export const TRICKY_PROFILES: readonly VideoProfile[] = [
  { width: 320, height: 180, fps: 60, ext: 'mp4', rotate: false, vfr: false },
  { width: 320, height: 180, fps: 30, ext: 'MOV', rotate: true, vfr: false },
  { width: 320, height: 180, fps: 30, ext: 'mp4', rotate: false, vfr: true },
];
