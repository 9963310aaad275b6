// Which remote a command talks to, from the environment:
// - the training backup: TRAINING_S3_BUCKET (+ _PREFIX default 'training', _REGION default 'us-east-1',
//   _ENDPOINT for S3-compatible servers). With no bucket, a local folder with the same key layout:
//   RALLYCUT_REMOTE_DIR, else <cacheDir>/remote.
// - the web app's bucket: APP_S3_BUCKET (+ APP_S3_ENDPOINT, APP_S3_REGION, and its own credentials
//   APP_S3_ACCESS_KEY_ID / APP_S3_SECRET_ACCESS_KEY, since the app's MinIO keys are not the AWS ones).
// - a URL (`s3://bucket/prefix` or a path), as the engine's `rallycut remote add` stores it.
import { join, resolve } from 'node:path';
import { configError } from '../diagnostics.js';
import { expandHome } from '../fsutil.js';
import { LocalRemote } from './local.js';
import type { Remote } from './remote.js';
import { S3Remote, type S3RemoteConfig } from './s3.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ResolvedRemote {
  remote: Remote;
  kind: 's3' | 'local';
  /** One line for the CLI: which remote, and how to change it. */
  notice: string;
}

/** Explicit keys from the env map when both are set; otherwise undefined → the SDK's default chain. */
function credentialsFrom(env: Env, idVar: string, secretVar: string, tokenVar?: string): S3RemoteConfig['credentials'] {
  const accessKeyId = env[idVar];
  const secretAccessKey = env[secretVar];
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = tokenVar ? env[tokenVar] : undefined;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}

/** `root`: the project folder, which a relative RALLYCUT_REMOTE_DIR is relative to. */
export function trainingRemote(env: Env, cacheDir: string, root: string): ResolvedRemote {
  const bucket = env.TRAINING_S3_BUCKET;
  if (bucket) {
    const endpoint = env.TRAINING_S3_ENDPOINT || undefined;
    const credentials = credentialsFrom(env, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN');
    const remote = new S3Remote({
      bucket,
      prefix: trimSlashes(env.TRAINING_S3_PREFIX ?? 'training'),
      region: env.TRAINING_S3_REGION || 'us-east-1',
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    });
    return { remote, kind: 's3', notice: `remote: ${remote.description}` };
  }
  const dir = env.RALLYCUT_REMOTE_DIR ? resolve(root, expandHome(env.RALLYCUT_REMOTE_DIR, env)) : join(cacheDir, 'remote');
  const remote = new LocalRemote(dir);
  return { remote, kind: 'local', notice: `remote: local folder ${dir} (TRAINING_S3_BUCKET is not set; set it to back up to S3)` };
}

/** The web app's bucket, or null when APP_S3_BUCKET is not set. Keys are the videos' s3_key values. */
export function appRemote(env: Env): S3Remote | null {
  const bucket = env.APP_S3_BUCKET;
  if (!bucket) return null;
  const endpoint = env.APP_S3_ENDPOINT || undefined;
  const credentials =
    credentialsFrom(env, 'APP_S3_ACCESS_KEY_ID', 'APP_S3_SECRET_ACCESS_KEY') ??
    credentialsFrom(env, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN');
  return new S3Remote({
    bucket,
    prefix: '',
    region: env.APP_S3_REGION || env.AWS_REGION || 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

/** `s3://bucket/prefix` or a folder path (relative to `cwd`); S3 settings other than bucket/prefix come from env. */
export function remoteFromUrl(url: string, cwd: string, env: Env): Remote {
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash >= 0 ? rest.slice(0, slash) : rest;
    if (!bucket) throw configError(`remote URL '${url}' names no bucket`, { subject: url });
    const endpoint = env.RALLYCUT_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
    const credentials = credentialsFrom(env, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN');
    return new S3Remote({
      bucket,
      prefix: trimSlashes(slash >= 0 ? rest.slice(slash + 1) : ''),
      region: env.AWS_REGION || 'us-east-1',
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
    throw configError(`unsupported remote URL '${url}': use s3://bucket/prefix or a folder path`, { subject: url });
  }
  return new LocalRemote(resolve(cwd, expandHome(url.startsWith('file://') ? url.slice('file://'.length) : url, env)));
}
