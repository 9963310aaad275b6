// The report shape of `rallycut segments --json` (also what `cut` can print), and its readable table.
import { formatTable } from '../../../src/handler.js';
import type { RejectionReason } from '../contracts.js';
import type { DetectResult } from './detect.js';
import { framesToMs } from './time.js';

export interface SegmentsReport {
  segments: { start_frame: number; end_frame: number; start_ms: number; end_ms: number }[];
  suggested: { start_frame: number; end_frame: number; reason: RejectionReason; mean_confidence: number }[];
}

/** Field order follows the documented output; times are round(frame·1000/fps); confidences keep 6 decimals. */
export function toSegmentsReport(result: DetectResult, fps: number): SegmentsReport {
  return {
    segments: result.segments.map((s) => ({
      start_frame: s.start_frame,
      end_frame: s.end_frame,
      start_ms: framesToMs(s.start_frame, fps),
      end_ms: framesToMs(s.end_frame, fps),
    })),
    suggested: result.suggested.map((s) => ({
      start_frame: s.start_frame,
      end_frame: s.end_frame,
      reason: s.reason,
      mean_confidence: Math.round(s.mean_confidence * 1e6) / 1e6,
    })),
  };
}

/** m:ss.mmm (or h:mm:ss.mmm) for a millisecond offset. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  const frac = String(total % 1000).padStart(3, '0');
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}.${frac}`;
}

export function formatSegmentsReport(report: SegmentsReport, fps: number): string {
  const parts: string[] = [];
  const seconds = (frames: number): number => Number((frames / fps).toFixed(2));
  parts.push(`${report.segments.length} rally segment${report.segments.length === 1 ? '' : 's'}\n`);
  if (report.segments.length) {
    parts.push(
      formatTable(
        ['#', 'start', 'end', 'duration_s', 'start_frame', 'end_frame'],
        report.segments.map((s, i) => [
          i + 1,
          formatClock(s.start_ms),
          formatClock(s.end_ms),
          seconds(s.end_frame - s.start_frame),
          s.start_frame,
          s.end_frame,
        ]),
      ),
    );
  }
  parts.push(`\n${report.suggested.length} suggested (rejected, mean confidence ≥ 0.3)\n`);
  if (report.suggested.length) {
    parts.push(
      formatTable(
        ['#', 'start', 'end', 'reason', 'mean_confidence', 'start_frame', 'end_frame'],
        report.suggested.map((s, i) => [
          i + 1,
          formatClock(framesToMs(s.start_frame, fps)),
          formatClock(framesToMs(s.end_frame, fps)),
          s.reason,
          Number(s.mean_confidence.toFixed(3)),
          s.start_frame,
          s.end_frame,
        ]),
      ),
    );
  }
  return parts.join('');
}
