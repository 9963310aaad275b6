// What the report and experiment records read from a project's outputs, as plain JSON (the engine never
// imports stages/): per-epoch curves from checkpoint folders (model.json with a `metrics` list), per-video
// precision/recall and predicted spans from evaluation reports (a `videos` list), truth from a
// ground_truth.json dep.
import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { EpochPoint, ExpCharts, VideoScore } from '../exp/records.js';
import type { Pipeline } from '../pipeline/types.js';

export interface Span {
  readonly start_ms: number;
  readonly end_ms: number;
}

export interface Timeline {
  readonly video_id: string;
  readonly predicted: readonly Span[];
  readonly truth: readonly Span[];
}

export interface ProjectData extends ExpCharts {
  /** Parsed metrics files by path. */
  readonly metrics: Record<string, unknown>;
  readonly timelines: Record<string, Timeline[]>;
}

async function readData(path: string): Promise<unknown> {
  try {
    const text = await fs.readFile(path, 'utf8');
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch {
    return undefined;
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

function spans(v: unknown): Span[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((s) => {
    const o = obj(s);
    const a = num(o?.start_ms);
    const b = num(o?.end_ms);
    return a !== undefined && b !== undefined ? [{ start_ms: a, end_ms: b }] : [];
  });
}

export function curveOf(model: unknown): EpochPoint[] | undefined {
  const list = obj(model)?.metrics;
  if (!Array.isArray(list)) return undefined;
  const points = list.flatMap((m) => {
    const o = obj(m);
    const epoch = num(o?.epoch);
    if (epoch === undefined) return [];
    const p: { epoch: number; train_loss?: number; val_f1?: number } = { epoch };
    const loss = num(o?.train_loss);
    const f1 = num(o?.val_f1);
    if (loss !== undefined) p.train_loss = loss;
    if (f1 !== undefined) p.val_f1 = f1;
    return [p];
  });
  return points.length ? points : undefined;
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
    return [{ video_id: o.video_id, precision, recall, f1: num(counts?.f1) ?? 0 }];
  });
  return rows.length ? rows : undefined;
}

/** Reads the charts' data from a project folder, guided by its pipeline's outs, metrics and deps. */
export async function collectProjectData(root: string, pipeline: Pipeline): Promise<ProjectData> {
  const curves: Record<string, EpochPoint[]> = {};
  const videos: Record<string, VideoScore[]> = {};
  const metrics: Record<string, unknown> = {};
  const timelines: Record<string, Timeline[]> = {};
  for (const stage of pipeline.stages.values()) {
    const truthDep = stage.deps.find((d) => basename(d) === 'ground_truth.json');
    for (const out of stage.outs) {
      if (out.kind === 'metric') {
        const data = await readData(join(root, out.path));
        if (data === undefined) continue;
        metrics[out.path] = data;
        const scores = videoScoresOf(data);
        if (scores) videos[out.path] = scores;
        const list = obj(data)?.videos;
        if (Array.isArray(list)) {
          const truth = truthDep ? await readData(join(root, truthDep)) : undefined;
          const truthById = new Map<string, Span[]>();
          if (Array.isArray(truth)) for (const t of truth) if (typeof obj(t)?.video_id === 'string') truthById.set(obj(t)!.video_id as string, spans(obj(t)!.rallies));
          timelines[out.path] = list.flatMap((v) => {
            const o = obj(v);
            return typeof o?.video_id === 'string' ? [{ video_id: o.video_id, predicted: spans(o.predicted), truth: truthById.get(o.video_id) ?? [] }] : [];
          });
        }
      } else if (out.kind === 'out') {
        const candidate = out.path.endsWith('.json') ? out.path : `${out.path}/model.json`;
        const curve = curveOf(await readData(join(root, candidate)));
        if (curve) curves[candidate] = curve;
      }
    }
  }
  return { curves, videos, metrics, timelines };
}
