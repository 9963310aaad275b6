// Validation of ground_truth.json-format files (used for both truth and predictions from any source).
import { configError } from '../../../src/handler.js';
import type { GroundTruth, GroundTruthVideo, RallySpan } from '../contracts.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Returns a typed copy or throws a config error naming `file` and the key (e.g. `[2].rallies[5].end_ms`).
 * Rallies need finite start_ms ≤ end_ms; video ids must be unique.
 */
export function validateGroundTruth(json: unknown, file: string): GroundTruth {
  const fail = (subject: string, message: string): never => {
    throw configError(message, { file, subject });
  };
  if (!Array.isArray(json)) fail('(root)', 'expected a JSON array of { video_id, filename, rallies: [{ start_ms, end_ms }] }');
  const seen = new Set<string>();
  return (json as unknown[]).map((v, i): GroundTruthVideo => {
    if (!isRecord(v)) fail(`[${i}]`, `entry ${i} must be an object`);
    const video = v as Record<string, unknown>;
    if (typeof video.video_id !== 'string' || video.video_id === '') fail(`[${i}].video_id`, `entry ${i}: video_id must be a non-empty string`);
    const id = video.video_id as string;
    if (seen.has(id)) fail(`[${i}].video_id`, `entry ${i}: video_id '${id}' appears more than once`);
    seen.add(id);
    if (!Array.isArray(video.rallies)) fail(`[${i}].rallies`, `video '${id}': rallies must be an array`);
    const rallies = (video.rallies as unknown[]).map((r, j): RallySpan => {
      const at = `[${i}].rallies[${j}]`;
      if (!isRecord(r)) fail(at, `video '${id}': rally ${j} must be an object`);
      const { start_ms, end_ms } = r as Record<string, unknown>;
      if (typeof start_ms !== 'number' || !Number.isFinite(start_ms)) fail(`${at}.start_ms`, `video '${id}': rally ${j} start_ms must be a number`);
      if (typeof end_ms !== 'number' || !Number.isFinite(end_ms)) fail(`${at}.end_ms`, `video '${id}': rally ${j} end_ms must be a number`);
      if ((end_ms as number) < (start_ms as number))
        fail(at, `video '${id}': rally ${j} ends (${String(end_ms)} ms) before it starts (${String(start_ms)} ms)`);
      return { start_ms: start_ms as number, end_ms: end_ms as number };
    });
    return { video_id: id, filename: typeof video.filename === 'string' ? video.filename : id, rallies };
  });
}
