// One evaluation: read the truth, get predictions from the chosen source, score every video, write the
// report and the per-video timelines. A video that cannot be predicted does not stop the others.
import { join } from 'node:path';
import { RallycutError, stableJson, writeFileAtomic, type Progress } from '../../src/handler.js';
import type { GroundTruth } from '../lib/contracts.js';
import { readJsonFile } from '../lib/jsonio/index.js';
import { poolScores, scoreVideo, validateGroundTruth } from '../lib/metrics/index.js';
import { REPORT_VERSION, type EvaluateReport, type VideoReport } from './report.js';
import { loadPredictions, type PredictionSource } from './sources.js';
import { timelineFileName, timelineSvg } from './timeline.js';

export interface EvaluateOptions {
  groundTruth: { path: string; shown: string };
  source: PredictionSource;
  iou: number;
  /** Recorded in the report (preset, parameters, model folder…). */
  config: Record<string, unknown>;
  cacheDir: string;
  /** Absolute path of the JSON report to write, if any. */
  output?: string;
  /** Absolute folder for <video>.svg timelines, if any. */
  plotsDir?: string;
  progress: (label: string, total: number) => Progress;
  log: (message: string) => void;
}

export async function readGroundTruth(path: string, shown: string): Promise<GroundTruth> {
  return validateGroundTruth(await readJsonFile(path, shown), shown);
}

function heldOut(videos: readonly VideoReport[], trainedOn: ReadonlySet<string>): NonNullable<EvaluateReport['held_out']> {
  const unseen = videos.filter((v) => !trainedOn.has(v.video_id));
  return { videos: unseen.length, video_ids: unseen.map((v) => v.video_id), ...poolScores(unseen) };
}

export async function runEvaluation(opts: EvaluateOptions): Promise<EvaluateReport> {
  const truth = await readGroundTruth(opts.groundTruth.path, opts.groundTruth.shown);
  const preds = await loadPredictions(opts.source, truth, { cacheDir: opts.cacheDir, progress: opts.progress });
  const truthIds = new Set(truth.map((v) => v.video_id));
  const extra = [...preds.videos.keys()].filter((id) => !truthIds.has(id)).sort();
  if (extra.length) opts.log(`ignoring predictions for ${extra.length} video(s) not in the ground truth: ${extra.join(', ')}`);
  const problemIds = new Set(preds.problems.map((d) => d.subject));
  const videos: VideoReport[] = [];
  const missing: string[] = [];
  for (const gt of truth) {
    if (problemIds.has(gt.video_id)) continue;
    const pred = preds.videos.get(gt.video_id);
    if (!pred) missing.push(gt.video_id);
    const spans = pred?.spans ?? [];
    videos.push({ video_id: gt.video_id, filename: gt.filename, predicted: spans, ...scoreVideo(gt.rallies, spans, { iou: opts.iou }) });
  }
  if (missing.length) opts.log(`no predictions for ${missing.length} video(s), scored as empty: ${missing.join(', ')}`);
  const report: EvaluateReport = {
    version: REPORT_VERSION,
    source: opts.source.kind === 'file' ? 'predictions' : opts.source.kind,
    config: opts.config,
    iou: opts.iou,
    totals: { videos: videos.length, ...poolScores(videos) },
    ...(preds.trainedOn ? { held_out: heldOut(videos, preds.trainedOn) } : {}),
    videos,
  };
  if (preds.problems.length) {
    // Score what we could, but do not record a report that silently lacks videos.
    throw new RallycutError([
      ...preds.problems,
      { kind: 'failure', message: `${preds.problems.length} of ${truth.length} video(s) could not be evaluated; ${videos.length} scored, no report written` },
    ]);
  }
  if (opts.output) await writeFileAtomic(opts.output, stableJson(report));
  if (opts.plotsDir) {
    const byId = new Map(truth.map((v) => [v.video_id, v]));
    for (const v of videos) {
      const svg = timelineSvg({
        video_id: v.video_id,
        filename: v.filename,
        truth: byId.get(v.video_id)!.rallies,
        predicted: v.predicted,
        scores: v,
        ...(preds.videos.get(v.video_id)?.duration_ms !== undefined ? { duration_ms: preds.videos.get(v.video_id)!.duration_ms! } : {}),
      });
      await writeFileAtomic(join(opts.plotsDir, timelineFileName(v.video_id)), svg);
    }
  }
  return report;
}
