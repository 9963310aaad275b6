// Data formats shared between domain stages. Each stage owns the code that reads/writes its format;
// these types are the agreement between them. Keep field names snake_case where they are on disk.

// ---- Dataset files (seed formats; `sha256` is our backward-compatible extension) ----
export interface ManifestVideo {
  filename: string;
  video_id: string;
  content_hash: string; // the web app's dedup key; opaque for files > 50 MiB
  /** Absent or null when the labels database does not know it (manifests from other tools). */
  duration_ms?: number | null;
  rally_count: number;
  sha256?: string; // full-file SHA-256, recorded by export-dataset and verified on every later use
  size_bytes?: number;
}

export interface Manifest {
  name: string;
  description: string;
  created: string;
  videos: ManifestVideo[];
  stats: { total_videos: number; total_rallies: number; total_duration_min: number };
}

export interface RallySpan {
  start_ms: number;
  end_ms: number;
}

export interface GroundTruthVideo {
  video_id: string;
  filename: string;
  rallies: RallySpan[];
}

export type GroundTruth = GroundTruthVideo[];

// ---- Classifier windows (the WINDOWS.json format of `rallycut segments`) ----
export const CLASS_LABELS = ['no_play', 'play', 'service'] as const;
export type ClassLabel = (typeof CLASS_LABELS)[number];

export interface WindowProbs {
  start_frame: number;
  end_frame: number; // start_frame + 15
  probs: Record<ClassLabel, number>;
}

export interface VideoWindows {
  fps: number;
  stride: number;
  base_stride: number; // 48
  total_frames: number;
  windows: WindowProbs[];
}

// ---- Segments ----
export type RejectionReason = 'INSUFFICIENT_WINDOWS' | 'TOO_SHORT' | 'SPARSE_DENSITY';

export interface FrameSegment {
  start_frame: number;
  end_frame: number;
}

export interface SuggestedSegment extends FrameSegment {
  reason: RejectionReason;
  mean_confidence: number;
}

// ---- Feature store (written by extract-features, read by temporal/evaluate/cut) ----
/** features/index.json: small, git-friendly; the arrays live in the content store under .cache/features/. */
export interface FeatureIndex {
  version: 1;
  model: { variant: string; sha256: string; feature_dim: number | null };
  base_stride: number; // stride at 30 fps (48)
  videos: FeatureIndexVideo[];
}

export interface FeatureIndexVideo {
  video_id: string;
  filename: string;
  content_hash: string;
  sha256: string; // of the proxy or source that was decoded
  fps: number;
  total_frames: number;
  stride: number; // fps-scaled stride actually used
  num_windows: number;
  /** Cache key; the arrays are at <cacheDir>/features/<key>.f32 with metadata <key>.json. */
  key: string;
}
