// Where a dataset's pieces live: locally under training_datasets/<name>/, on the training remote under
// datasets/<name>/ and videos/<content_hash>.mp4, and in the local content cache under
// <cacheDir>/videos/<content_hash> (export and pull keep a hardlink there so later exports find the file).
import { extname, join, resolve } from 'node:path';
import { configError } from '../../../src/handler.js';
import type { ManifestVideo } from '../contracts.js';

export const DATASETS_DIR = 'training_datasets';
export const MANIFEST_FILE = 'manifest.json';
export const GROUND_TRUTH_FILE = 'ground_truth.json';
export const VIDEOS_DIR = 'videos';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function checkDatasetName(name: string | undefined): string {
  if (!name) throw configError('a dataset name is required (--dataset NAME)', { subject: '--dataset' });
  if (!NAME.test(name) || name.includes('..')) {
    throw configError(`dataset name '${name}' may use only letters, digits, '.', '_' and '-'`, { subject: '--dataset' });
  }
  return name;
}

/** training_datasets/<name>, or --dir DIR as given. */
export function datasetDir(root: string, name: string, output?: string): string {
  return output ? resolve(root, output) : join(root, DATASETS_DIR, name);
}

export const remoteKeys = {
  manifest: (name: string): string => `datasets/${name}/${MANIFEST_FILE}`,
  groundTruth: (name: string): string => `datasets/${name}/${GROUND_TRUTH_FILE}`,
  datasetsPrefix: 'datasets/',
  videosPrefix: 'videos/',
  video: (contentHash: string): string => `videos/${contentHash}.mp4`,
};

export function contentCachePath(cacheDir: string, contentHash: string): string {
  return join(cacheDir, 'videos', contentHash);
}

/**
 * The file name of a video inside videos/. Usually its filename; when two videos of the dataset share a
 * filename (real data has this: two different 'tete.mp4'), each gets its content_hash's first 12 hex
 * digits before the extension, so neither overwrites the other. Other stages must use this too.
 */
export function localVideoName(video: Pick<ManifestVideo, 'filename' | 'content_hash'>, all: readonly Pick<ManifestVideo, 'filename'>[]): string {
  let same = 0;
  for (const v of all) if (v.filename === video.filename) same++;
  if (same <= 1) return video.filename;
  const ext = extname(video.filename);
  return `${video.filename.slice(0, video.filename.length - ext.length)}.${video.content_hash.slice(0, 12)}${ext}`;
}

/** Absolute path of a video's file in a dataset folder. */
export function localVideoPath(dir: string, video: Pick<ManifestVideo, 'filename' | 'content_hash'>, all: readonly Pick<ManifestVideo, 'filename'>[]): string {
  return join(dir, VIDEOS_DIR, localVideoName(video, all));
}
