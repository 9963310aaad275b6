// What evaluate and cut import: load a checkpoint, run it over one video's stored features, get rally
// segments in milliseconds.
import { failure } from '../../src/handler.js';
import type { RallySpan } from '../lib/contracts.js';
import type { VideoFeatures } from '../lib/features/index.js';
import { loadTemporalModel, type LoadedModel } from './checkpoint.js';
import { predictWindows, type WindowPrediction } from './predict.js';
import { segmentsS, toMs, type TimedSegment } from './segments.js';

export { loadTemporalModel };
export type { LoadedModel as TemporalModel };

/** The rows a model reads from a video: the features it was trained on, or the 3 probabilities. */
export function modelInput(model: LoadedModel, vf: Pick<VideoFeatures, 'features' | 'probs' | 'dim'>, subject = 'video'): Float32Array {
  if (model.meta.feature.source === 'probs') return vf.probs;
  if (!vf.features || vf.dim !== model.arch.featureDim) {
    throw failure(`${subject}: the temporal model expects ${model.arch.featureDim}-d features, the feature store has ${vf.features ? `${vf.dim}-d` : 'none'}`, {
      subject,
      notes: ['re-run extract-features with the classifier the temporal model was trained on, or retrain it'],
    });
  }
  return vf.features;
}

export function predictVideoWindows(model: LoadedModel, vf: Pick<VideoFeatures, 'features' | 'probs' | 'dim'>, subject?: string): WindowPrediction {
  return predictWindows(model, modelInput(model, vf, subject));
}

/** Rally segments for one video in seconds, by the seed's rules (segments.ts). */
export function predictSegments(model: LoadedModel, vf: Pick<VideoFeatures, 'features' | 'probs' | 'dim' | 'windows'>, subject?: string): TimedSegment[] {
  const pred = predictVideoWindows(model, vf, subject);
  return segmentsS(pred.rally, pred.prob, vf.windows.stride, vf.windows.fps);
}

/** Rally segments for one video, in whole milliseconds. */
export function predictSegmentsMs(model: LoadedModel, vf: Pick<VideoFeatures, 'features' | 'probs' | 'dim' | 'windows'>, subject?: string): RallySpan[] {
  return predictSegments(model, vf, subject).map(toMs);
}
