// Named cache remotes (`rallycut remote add NAME URL`), kept in the git-tracked `.rallycut/config.yaml` so
// every clone knows where the team's cache lives. Only locations are stored, never credentials: S3 uses
// the AWS SDK's default chain (env, profile, instance role). An S3-compatible server (MinIO, s3rver) is
// named with `--endpoint`, stored beside the URL because it is part of the location, not a secret.
import { promises as fs } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { configError } from '../diagnostics.js';
import { dict } from '../dict.js';
import { expandHome, toPosix, writeFileAtomic } from '../fsutil.js';
import { remoteFromUrl, type Env } from './config.js';
import type { Remote } from './remote.js';

export const CONFIG_FILE = '.rallycut/config.yaml';

export interface RemoteEntry {
  url: string;
  endpoint?: string;
  region?: string;
}

export interface RemotesConfig {
  default?: string;
  remotes: Record<string, RemoteEntry>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// S3 bucket naming rules (lowercase letters, digits, dots, hyphens; 3–63 characters).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function configPath(root: string): string {
  return join(root, ...CONFIG_FILE.split('/'));
}

export async function readRemotesConfig(root: string): Promise<RemotesConfig> {
  const file = configPath(root);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { remotes: dict() };
    throw err;
  }
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw configError(`${CONFIG_FILE} is not valid YAML: ${(err as Error).message}`, { file: CONFIG_FILE });
  }
  const obj = doc as { core?: { remote?: unknown }; remotes?: unknown };
  const remotes = dict<RemoteEntry>();
  if (obj.remotes !== undefined && (typeof obj.remotes !== 'object' || obj.remotes === null || Array.isArray(obj.remotes))) {
    throw configError(`${CONFIG_FILE}: 'remotes' must be a map of name → {url, endpoint?, region?}`, { file: CONFIG_FILE });
  }
  for (const [name, raw] of Object.entries((obj.remotes ?? {}) as Record<string, unknown>)) {
    const e = raw as Partial<RemoteEntry> | null;
    if (!e || typeof e.url !== 'string') throw configError(`${CONFIG_FILE}: remote '${name}' has no 'url'`, { file: CONFIG_FILE, subject: name });
    remotes[name] = {
      url: e.url,
      ...(typeof e.endpoint === 'string' ? { endpoint: e.endpoint } : {}),
      ...(typeof e.region === 'string' ? { region: e.region } : {}),
    };
  }
  const def = typeof obj.core?.remote === 'string' ? obj.core.remote : undefined;
  return { ...(def ? { default: def } : {}), remotes };
}

export async function writeRemotesConfig(root: string, cfg: RemotesConfig): Promise<void> {
  // Other sections of the file (written by hand or by later features) are kept as they are.
  let doc: Record<string, unknown> = {};
  try {
    doc = (parse(await fs.readFile(configPath(root), 'utf8')) as Record<string, unknown> | null) ?? {};
  } catch {
    doc = {};
  }
  const core = { ...((doc.core as Record<string, unknown> | undefined) ?? {}) };
  if (cfg.default) core.remote = cfg.default;
  else delete core.remote;
  const remotes: Record<string, RemoteEntry> = {};
  for (const name of Object.keys(cfg.remotes).sort()) remotes[name] = cfg.remotes[name]!;
  const out: Record<string, unknown> = { ...doc, remotes };
  if (Object.keys(core).length) out.core = core;
  else delete out.core;
  await writeFileAtomic(configPath(root), stringify(out, { lineWidth: 0, sortMapEntries: true }));
}

export function checkRemoteName(name: string): void {
  if (!NAME_RE.test(name)) throw configError(`invalid remote name '${name}': use letters, digits, '.', '_' and '-'`, { subject: name });
}

/** Validates a URL for storage; relative folder paths are made relative to the project root. */
export function normalizeRemoteUrl(url: string, cwd: string, root: string): string {
  if (url.trim() === '') throw configError('remote URL is empty: use s3://bucket/prefix or a folder path');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    if (!url.startsWith('s3://') && !url.startsWith('file://')) {
      throw configError(`unsupported remote URL '${url}': use s3://bucket/prefix or a folder path`, { subject: url });
    }
    if (url.startsWith('s3://')) {
      const rest = url.slice('s3://'.length);
      const bucket = rest.split('/')[0] ?? '';
      if (bucket.includes('@') || bucket.includes(':')) {
        // The message must not repeat what may be a secret.
        const redacted = `s3://…@${bucket.slice(bucket.lastIndexOf('@') + 1)}`;
        throw configError(
          `remote URL '${redacted}' carries credentials: they are never stored; use the AWS credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID…)`,
          { subject: redacted },
        );
      }
      if (!bucket) throw configError(`remote URL '${url}' names no bucket: use s3://bucket/prefix`, { subject: url });
      if (!BUCKET_RE.test(bucket))
        throw configError(`remote URL '${url}': '${bucket}' is not a valid S3 bucket name (3–63 lowercase letters, digits, '.', '-')`, { subject: url });
      return url.replace(/\/+$/, '');
    }
    url = url.slice('file://'.length);
  }
  if (isAbsolute(url)) return url;
  if (expandHome(url) !== url) return url; // ~/x: each user's own home, expanded when used
  const rel = toPosix(relative(root, resolve(cwd, url)));
  return rel === '' ? '.' : rel;
}

export function checkEndpoint(endpoint: string): void {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw configError(`invalid endpoint '${endpoint}': expected http(s)://host:port`, { subject: endpoint });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw configError(`invalid endpoint '${endpoint}': expected http(s)://host:port`, { subject: endpoint });
  if (u.username || u.password)
    throw configError(`endpoint '${u.host}' carries credentials: they are never stored; use the AWS credential chain`, { subject: u.host });
}

export interface ResolvedNamedRemote {
  name: string;
  entry: RemoteEntry;
  remote: Remote;
}

/** The remote named `name`, else the default one, else the only one. */
export async function resolveNamedRemote(root: string, name: string | undefined, env: Env): Promise<ResolvedNamedRemote> {
  const cfg = await readRemotesConfig(root);
  const names = Object.keys(cfg.remotes).sort();
  const pick = name ?? cfg.default ?? (names.length === 1 ? names[0] : undefined);
  if (!pick) {
    throw configError(
      names.length
        ? `no default remote: pass -r NAME (one of ${names.join(', ')}) or run 'rallycut remote default NAME'`
        : `no remote configured: run 'rallycut remote add NAME s3://bucket/prefix' (or a folder path)`,
      { file: CONFIG_FILE },
    );
  }
  const entry = cfg.remotes[pick];
  if (!entry)
    throw configError(`no remote named '${pick}' in ${CONFIG_FILE}${names.length ? ` (have: ${names.join(', ')})` : ''}`, { file: CONFIG_FILE, subject: pick });
  const remote = remoteFromUrl(entry.url, root, {
    ...env,
    ...(entry.endpoint ? { RALLYCUT_S3_ENDPOINT: entry.endpoint } : {}),
    ...(entry.region ? { AWS_REGION: entry.region } : {}),
  });
  return { name: pick, entry, remote };
}
