// Heuristics: window probabilities → rally segments (shared by `segments`, `cut` and `evaluate`).
export { detectSegments, DEFAULT_BASE_STRIDE } from './detect.js';
export type { DetectResult } from './detect.js';
export { validateWindows } from './validate.js';
export {
  presetFor,
  applyOverrides,
  parseSetPairs,
  isHeuristicsModel,
  HEURISTICS_MODELS,
  OVERRIDABLE_KEYS,
} from './params.js';
export type { HeuristicsParams, HeuristicsModel, OverridableKey } from './params.js';
export { framesToMs } from './time.js';
export { toSegmentsReport, formatSegmentsReport, formatClock } from './output.js';
export type { SegmentsReport } from './output.js';
