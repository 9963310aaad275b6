// Rally detection metrics: seed-compatible greedy matching plus optimal matching and segmentation scores.
export { intervalIou, greedyMatch, optimalMatch } from './matching.js';
export type { RallyMatch, Matching } from './matching.js';
export { toLabelSegments, segmentalCounts, levenshtein, editScore } from './segmental.js';
export type { SegmentalCounts } from './segmental.js';
export { scoreVideo, poolScores, detectionCounts, errorStats, overlapKey, SEGMENTAL_OVERLAPS, OVERMERGE_MS } from './scores.js';
export type { DetectionCounts, ErrorStats, BoundaryStats, ScoreSet, VideoScores, ScoreOptions } from './scores.js';
export { validateGroundTruth } from './ground-truth.js';
