// The report's per-video charts from evaluation reports (metrics/evaluate.json: a `videos` list with greedy
// precision/recall, predicted spans and the filename), with the truth from the stage's ground_truth.json dep.
import { basename } from 'node:path';
import type { ReportSource, Span, Timeline, VideoScore } from '../../src/handler.js';
import { finiteOrUndefined as num, objectOrUndefined as obj } from '../lib/jsonio/index.js';

function spans(v: unknown): Span[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((s) => {
    const o = obj(s);
    const a = num(o?.start_ms);
    const b = num(o?.end_ms);
    return a !== undefined && b !== undefined ? [{ start_ms: a, end_ms: b }] : [];
  });
}

const filenameOf = (o: Record<string, unknown> | undefined): { filename?: string } =>
  typeof o?.filename === 'string' && o.filename ? { filename: o.filename } : {};

/** How many rallies a report row says were predicted: its count, else its list of spans. */
function predictedCount(o: Record<string, unknown>): { predicted?: number } {
  const n = num(o.predicted_count) ?? (Array.isArray(o.predicted) ? o.predicted.length : undefined);
  return n === undefined ? {} : { predicted: n };
}

export function videoScoresOf(report: unknown): VideoScore[] | undefined {
  const list = obj(report)?.videos;
  if (!Array.isArray(list)) return undefined;
  const rows = list.flatMap((v) => {
    const o = obj(v);
    const counts = obj(o?.greedy) ?? o;
    const precision = num(counts?.precision);
    const recall = num(counts?.recall);
    if (typeof o?.video_id !== 'string' || precision === undefined || recall === undefined) return [];
    return [{ video_id: o.video_id, ...filenameOf(o), precision, recall, f1: num(counts?.f1) ?? 0, ...predictedCount(o) }];
  });
  return rows.length ? rows : undefined;
}

export const evaluationReports: ReportSource = {
  name: 'evaluation reports',
  async collect(stage, read) {
    const videos: Record<string, VideoScore[]> = {};
    const timelines: Record<string, Timeline[]> = {};
    const truthDep = stage.deps.find((d) => basename(d) === 'ground_truth.json');
    for (const out of stage.outs) {
      if (out.kind !== 'metric') continue;
      const data = await read(out.path);
      const scores = videoScoresOf(data);
      if (scores) videos[out.path] = scores;
      const list = obj(data)?.videos;
      if (!Array.isArray(list)) continue;
      const truth = truthDep ? await read(truthDep) : undefined;
      const truthById = new Map<string, { spans: Span[]; filename?: string }>();
      if (Array.isArray(truth)) {
        for (const t of truth) {
          const o = obj(t);
          if (typeof o?.video_id === 'string') truthById.set(o.video_id, { spans: spans(o.rallies), ...filenameOf(o) });
        }
      }
      timelines[out.path] = list.flatMap((v) => {
        const o = obj(v);
        if (typeof o?.video_id !== 'string') return [];
        const known = truthById.get(o.video_id);
        const filename = filenameOf(o).filename ?? known?.filename;
        return [{ video_id: o.video_id, ...(filename ? { filename } : {}), predicted: spans(o.predicted), truth: known?.spans ?? [] }];
      });
    }
    return { videos, timelines };
  },
};
