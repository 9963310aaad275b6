// Checks a parsed WINDOWS.json before the heuristics run, with errors that name the window index or key.
import { configError } from '../../../src/handler.js';
import { CLASS_LABELS, type VideoWindows, type WindowProbs } from '../contracts.js';
import { DEFAULT_BASE_STRIDE } from './detect.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Returns a typed copy of `json` or throws a config error naming `file` and the offending key
 * (e.g. `windows[12].probs.play`). `stride` and `base_stride` may be absent: base_stride defaults to 48 and
 * stride to round(48·fps/30).
 */
export function validateWindows(json: unknown, file: string): VideoWindows {
  const fail = (subject: string, message: string): never => {
    throw configError(message, { file, subject });
  };
  if (!isRecord(json)) fail('(root)', 'windows file must hold a JSON object with fps, total_frames and windows');
  const root = json as Record<string, unknown>;

  const fps = root.fps;
  if (!isFiniteNumber(fps)) fail('fps', `fps must be a number, got ${JSON.stringify(fps) ?? 'nothing'}`);
  if ((fps as number) <= 0) fail('fps', `fps must be > 0, got ${String(fps)}`);

  const total = root.total_frames;
  if (!isFiniteNumber(total) || !Number.isInteger(total) || total < 1) {
    fail('total_frames', `total_frames must be a positive integer, got ${JSON.stringify(total) ?? 'nothing'}`);
  }

  const baseStride = root.base_stride ?? DEFAULT_BASE_STRIDE;
  if (!isFiniteNumber(baseStride) || baseStride <= 0) fail('base_stride', `base_stride must be a number > 0, got ${JSON.stringify(baseStride)}`);
  const stride = root.stride ?? Math.max(1, Math.round((DEFAULT_BASE_STRIDE * (fps as number)) / 30));
  if (!isFiniteNumber(stride) || stride <= 0) fail('stride', `stride must be a number > 0, got ${JSON.stringify(stride)}`);

  if (!Array.isArray(root.windows)) fail('windows', 'windows must be an array');
  const rawWindows = root.windows as unknown[];
  const windows: WindowProbs[] = new Array(rawWindows.length);
  let prevStart = -Infinity;
  for (let i = 0; i < rawWindows.length; i++) {
    const w = rawWindows[i];
    const at = `windows[${i}]`;
    if (!isRecord(w)) fail(at, `window ${i} must be an object`);
    const win = w as Record<string, unknown>;
    const start = win.start_frame;
    const end = win.end_frame;
    if (!isFiniteNumber(start) || !Number.isInteger(start) || start < 0) {
      fail(`${at}.start_frame`, `window ${i}: start_frame must be a non-negative integer, got ${JSON.stringify(start) ?? 'nothing'}`);
    }
    if (!isFiniteNumber(end) || !Number.isInteger(end) || end < (start as number)) {
      fail(`${at}.end_frame`, `window ${i}: end_frame must be an integer ≥ start_frame (${String(start)}), got ${JSON.stringify(end) ?? 'nothing'}`);
    }
    if ((start as number) <= prevStart) {
      fail(`${at}.start_frame`, `window ${i} is out of order: it starts at frame ${String(start)}, not after window ${i - 1} (frame ${prevStart})`);
    }
    prevStart = start as number;
    const probs = win.probs;
    if (!isRecord(probs)) fail(`${at}.probs`, `window ${i}: probs is missing (expected ${CLASS_LABELS.join(', ')})`);
    const p = probs as Record<string, unknown>;
    for (const label of CLASS_LABELS) {
      if (!(label in p)) fail(`${at}.probs.${label}`, `window ${i}: probability '${label}' is missing`);
      if (!isFiniteNumber(p[label])) fail(`${at}.probs.${label}`, `window ${i}: probability '${label}' must be a number, got ${JSON.stringify(p[label])}`);
    }
    windows[i] = {
      start_frame: start as number,
      end_frame: end as number,
      probs: { no_play: p.no_play as number, play: p.play as number, service: p.service as number },
    };
  }
  return { fps: fps as number, stride: stride as number, base_stride: baseStride as number, total_frames: total as number, windows };
}
