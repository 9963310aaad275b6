// What `demo init` generates: a list of video specs (size, fps, container, rotation, VFR, timeline, filter
// graph), all decided by one seeded PRNG so that a seed always means the same dataset.
import { Rng } from '../lib/nn/rng.js';
import type { RallySpan } from '../lib/contracts.js';
import { uuidShape } from '../lib/dataset/hashing.js';
import { drawTimeline } from './timeline.js';
import { buildScene, type Scene } from './scene.js';

/** How one demo video is shot: the mix a phone user uploads (sizes, rates, containers, orientation). */
export interface VideoProfile {
  width: number;
  height: number;
  fps: 30 | 60;
  ext: 'mp4' | 'MOV';
  /** Frames stored portrait with a rotate=90 flag, as phones do. */
  rotate: boolean;
  /** Uneven frame timestamps. */
  vfr: boolean;
}

/** Cycled when more videos are asked for. Budgeted so that the default set encodes in under a minute on 2 cores. */
export const DEFAULT_PROFILES: readonly VideoProfile[] = [
  { width: 1920, height: 1080, fps: 30, ext: 'MOV', rotate: false, vfr: false },
  { width: 1280, height: 720, fps: 60, ext: 'mp4', rotate: false, vfr: false },
  { width: 1280, height: 720, fps: 30, ext: 'MOV', rotate: true, vfr: false },
  { width: 1280, height: 720, fps: 30, ext: 'mp4', rotate: false, vfr: true },
  { width: 1280, height: 720, fps: 30, ext: 'MOV', rotate: false, vfr: false },
  { width: 1280, height: 720, fps: 30, ext: 'mp4', rotate: false, vfr: false },
];

export interface DemoConfig {
  seed: number;
  videos: number;
  /** Each video's length is drawn uniformly in [minSeconds, maxSeconds]. */
  minSeconds: number;
  maxSeconds: number;
  /** Multiplies rally and gap lengths (1 = the real distributions). */
  timeScale: number;
  /** Further multiplies gap lengths only. */
  gapScale: number;
  /** Overrides the profile list (tests use tiny sizes). */
  profiles?: readonly VideoProfile[];
}

/**
 * Sized to generate in under a minute on 2 cores: 70–110 s videos (real matches run longer; the rally
 * lengths are real, the gaps are shortened by 0.6 so that each video still holds several rallies).
 */
export const DEFAULT_CONFIG: DemoConfig = { seed: 7, videos: 6, minSeconds: 70, maxSeconds: 110, timeScale: 1, gapScale: 0.6 };

export interface PlannedVideo {
  index: number;
  video_id: string;
  filename: string;
  profile: VideoProfile;
  duration_ms: number;
  rallies: RallySpan[];
  scene: Scene;
  /** Browser-style lastModified (ms) used for the app's content hash of large files. */
  last_modified: number;
}

/** A uuid-shaped id from the PRNG: stable per seed, and looks like the app's ids. */
function uuidFrom(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => rng.int(16).toString(16)).join('');
  return uuidShape(hex, '4', rng.int(4));
}

export function planDemo(config: DemoConfig): PlannedVideo[] {
  const profiles = config.profiles ?? DEFAULT_PROFILES;
  if (profiles.length === 0) throw new Error('planDemo: no video profiles');
  const root = new Rng(config.seed);
  const planned: PlannedVideo[] = [];
  for (let i = 0; i < config.videos; i++) {
    // One independent stream per video: adding videos never changes the earlier ones.
    const rng = root.fork(i + 1);
    const profile = profiles[i % profiles.length]!;
    const durationS = Math.round((config.minSeconds + (config.maxSeconds - config.minSeconds) * rng.next()) * 1000) / 1000;
    const timeline = drawTimeline(rng.fork(1), durationS, config.timeScale, config.gapScale);
    const video_id = uuidFrom(rng.fork(2));
    const filename = `match_${String(i + 1).padStart(2, '0')}.${profile.ext}`;
    planned.push({
      index: i,
      video_id,
      filename,
      profile,
      duration_ms: timeline.duration_ms,
      rallies: timeline.rallies,
      scene: buildScene(rng.fork(3), {
        fps: profile.fps,
        durationS,
        rallies: timeline.rallies,
        width: profile.width,
        height: profile.height,
        storeRotated: profile.rotate,
        dropFrames: profile.vfr,
      }),
      last_modified: Date.UTC(2026, 0, 1) + (config.seed % 1000) * 86_400_000 + i * 3_600_000,
    });
  }
  return planned;
}
