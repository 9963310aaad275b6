// A remote in an S3 bucket (AWS, MinIO, s3rver). Keys are stored under an optional prefix. Uploads use
// lib-storage's Upload: one PutObject for small files, parallel multipart parts for large ones.
// Checksums are computed only when required: S3-compatible servers such as s3rver otherwise store
// streamed bodies corrupted (DESIGN §3).
import { createWriteStream, createReadStream, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
// The SDK is loaded on first use only: it costs ~0.3 s of start-up, and most commands never touch S3.
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { crashPoint } from '../crash.js';
import { RallycutError, failure } from '../diagnostics.js';
import { commitTemp, tempPathFor } from '../fsutil.js';
import { redactUrl } from '../redact.js';
import { sleep } from '../sleep.js';
import { byteCounter, checkKey } from './local.js';
import { trackMultipart } from './s3-multipart.js';
import type { PutOptions, Remote, RemoteObject, TransferOptions } from './remote.js';

// The SDK warns on every process that Node 20 support ends in 2027; the project supports Node 20 (package.json
// engines), so the warning would only be noise on each push/pull. A user's explicit setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3RemoteConfig {
  bucket: string;
  /** Key prefix without leading or trailing '/', '' for the bucket root. */
  prefix: string;
  region: string;
  /** For S3-compatible servers; switches to path-style addressing. */
  endpoint?: string;
  /** Explicit credentials; when absent the SDK's default chain is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size in bytes (default 16 MiB) and parts in flight per file (default 4). */
  partSize?: number;
  queueSize?: number;
  /** Keys per listing page (default: the server's, 1000 on S3). */
  pageSize?: number;
  /** Unfinished multipart uploads under the prefix older than this are aborted by the first listing (default 24 h). */
  staleUploadMs?: number;
}

export function s3ClientConfig(cfg: Pick<S3RemoteConfig, 'region' | 'endpoint' | 'credentials'>): S3ClientConfig {
  return {
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint, forcePathStyle: true } : {}),
    ...(cfg.credentials ? { credentials: cfg.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  };
}

/** Tries per transfer when the failure is transient (a restarting server, a dropped connection, a 5xx), with
 *  RETRY_BASE_MS, doubled each time, between them: about 7.5 s in all, on top of the SDK's own quick retries. */
const TRANSFER_ATTEMPTS = 5;
const RETRY_BASE_MS = 500;
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN']);
const TRANSIENT_NAMES = new Set(['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeTooSkewed', 'TimeoutError']);

/** A failure that another try of the same transfer may not meet. */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } } | null;
  if (!e || err instanceof RallycutError) return false;
  if (TRANSIENT_CODES.has(e.code ?? '') || TRANSIENT_CODES.has(e.name ?? '') || TRANSIENT_NAMES.has(e.name ?? '')) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  return /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|^aborted$/i.test(e.message ?? '');
}

/** Bytes-done reports that never go back: a retried transfer restarts at 0, the caller's bar should not. */
function monotonic<T extends { onProgress?: (bytes: number) => void }>(opts: T): T {
  const report = opts.onProgress;
  if (!report) return opts;
  let best = 0;
  return {
    ...opts,
    onProgress: (bytes: number) => {
      if (bytes <= best) return;
      best = bytes;
      report(bytes);
    },
  };
}

/** Runs a transfer, again after a pause when it failed transiently (never after a user's abort). */
async function withRetries<T>(signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= TRANSFER_ATTEMPTS || signal?.aborted || !isTransient(err)) throw err;
      await sleep(RETRY_BASE_MS * 2 ** (n - 1), signal);
    }
  }
}

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
  'Forbidden',
]);

export class S3Remote implements Remote {
  readonly description: string;
  private clientPromise: Promise<S3Client> | undefined;
  private swept: Promise<void> | undefined;
  constructor(readonly cfg: S3RemoteConfig) {
    this.description = `s3://${cfg.bucket}${cfg.prefix ? '/' + cfg.prefix : ''}${cfg.endpoint ? ` (endpoint ${redactUrl(cfg.endpoint, 'endpoint')})` : ''}`;
  }

  /** The SDK client, created (and the SDK loaded) on first use. */
  client(): Promise<S3Client> {
    this.clientPromise ??= import('@aws-sdk/client-s3').then(({ S3Client }) => new S3Client(s3ClientConfig(this.cfg)));
    return this.clientPromise;
  }

  private fullKey(key: string): string {
    checkKey(key);
    return this.cfg.prefix ? `${this.cfg.prefix}/${key}` : key;
  }

  /** One clear sentence for the errors a user can fix: a missing bucket, refused credentials, no network. */
  private explain(err: unknown, action: string, key?: string): RallycutError {
    if (err instanceof RallycutError) return err;
    const e = err as { name?: string; Code?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const name = e.name ?? e.Code ?? '';
    const status = e.$metadata?.httpStatusCode;
    const subject = key ?? this.cfg.bucket;
    if (name === 'NoSuchBucket')
      return failure(`bucket '${this.cfg.bucket}' does not exist (${this.description})`, {
        subject: this.cfg.bucket,
        notes: ['create it, or fix TRAINING_S3_BUCKET / the remote URL'],
      });
    if (CREDENTIAL_ERRORS.has(name) || status === 403) {
      return failure(`credentials refused by ${this.description} while trying to ${action}: ${name || 'HTTP 403'}`, {
        subject,
        notes: ['check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS profile (default credential chain)'],
      });
    }
    if (e.code === 'ECONNREFUSED' || name === 'ECONNREFUSED') return failure(`cannot reach ${this.description}: connection refused`, { subject });
    return failure(`${action} failed on ${this.description}: ${name ? name + ': ' : ''}${e.message ?? String(err)}`, { subject });
  }

  async *list(prefix: string): AsyncIterable<RemoteObject> {
    this.swept ??= this.sweepStaleUploads();
    await this.swept;
    const full = this.cfg.prefix ? `${this.cfg.prefix}/${prefix}` : prefix;
    const strip = this.cfg.prefix ? this.cfg.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      let page;
      try {
        const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
        page = await (await this.client()).send(
          new ListObjectsV2Command({
            Bucket: this.cfg.bucket,
            Prefix: full,
            ContinuationToken: token,
            ...(this.cfg.pageSize ? { MaxKeys: this.cfg.pageSize } : {}),
          }),
        );
      } catch (err) {
        throw this.explain(err, `list '${full}'`);
      }
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key.slice(strip), size: o.Size ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * A process killed mid-upload (SIGKILL, power loss) cannot abort its multipart upload, whose parts S3 then
   * keeps, and bills, for ever, and no listing of objects shows. The first listing of each run (every push
   * and pull starts with one) aborts those under the remote's prefix older than a day: by age only, since
   * another host may be uploading right now. Best effort: a bucket policy may forbid the listing. Only under
   * a prefix: a remote at a bucket's root (the web app's bucket) shares it with other programs' uploads.
   */
  private async sweepStaleUploads(): Promise<void> {
    const maxAge = this.cfg.staleUploadMs ?? 24 * 3600 * 1000;
    if (!this.cfg.prefix) return;
    try {
      const { ListMultipartUploadsCommand, AbortMultipartUploadCommand } = await import('@aws-sdk/client-s3');
      const client = await this.client();
      const prefix = `${this.cfg.prefix}/`;
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (let page = 0; page < 100; page++) {
        const res = await client.send(
          new ListMultipartUploadsCommand({ Bucket: this.cfg.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
        for (const u of res.Uploads ?? []) {
          if (!u.Key || !u.UploadId || !u.Initiated || Date.now() - u.Initiated.getTime() < maxAge) continue;
          await client.send(new AbortMultipartUploadCommand({ Bucket: this.cfg.bucket, Key: u.Key, UploadId: u.UploadId })).catch(() => undefined);
        }
        if (!res.IsTruncated) break;
        keyMarker = res.NextKeyMarker;
        uploadIdMarker = res.NextUploadIdMarker;
      }
    } catch {
      // Not allowed, or not implemented by an S3-compatible server: nothing to clean, the listing goes on.
    }
  }

  /** Uploads a fresh body from `body()` per attempt (a stream is used up by a failed one). */
  private async upload(key: string, body: () => Readable | Uint8Array | string, opts: PutOptions): Promise<void> {
    const steady = monotonic(opts);
    try {
      await withRetries(opts.signal, () => this.uploadOnce(key, body(), steady));
    } catch (err) {
      throw this.explain(err, `upload '${key}'`, key);
    }
  }

  private async uploadOnce(key: string, body: Readable | Uint8Array | string, opts: PutOptions): Promise<void> {
    const [{ Upload }, client] = await Promise.all([import('@aws-sdk/lib-storage'), this.client()]);
    // Cancels this attempt's requests when the caller aborts; the tracked client aborts what is left after.
    const controller = new AbortController();
    const tracked = trackMultipart(client, controller.signal);
    const upload = new Upload({
      client: tracked.client,
      params: {
        Bucket: this.cfg.bucket,
        Key: this.fullKey(key),
        Body: body,
        ...(opts.storageClass ? { StorageClass: opts.storageClass as 'STANDARD_IA' } : {}),
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
      },
      partSize: this.cfg.partSize ?? 16 * 1024 * 1024,
      queueSize: this.cfg.queueSize ?? 4,
      // The tracked client aborts the upload itself, after the failure, keeping the failure as the error.
      leavePartsOnError: true,
      abortController: controller,
    });
    if (opts.onProgress) upload.on('httpUploadProgress', (p) => p.loaded !== undefined && opts.onProgress!(p.loaded));
    // Each progress event is one finished part: a kill here leaves an unfinished multipart upload behind.
    upload.on('httpUploadProgress', () => crashPoint('remote.upload-part'));
    crashPoint('remote.upload');
    const onAbort = (): void => controller.abort();
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      // Stop the attempt's other requests too (a failed part leaves its siblings running), then abort it.
      controller.abort();
      await tracked.settle().catch(() => undefined); // best effort: the upload's own failure is the error to show
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  async putFile(key: string, file: string, opts: PutOptions = {}): Promise<void> {
    await fs.access(file);
    await this.upload(key, () => createReadStream(file), opts);
  }

  async putBytes(key: string, data: Uint8Array | string, opts: PutOptions = {}): Promise<void> {
    await this.upload(key, () => data, opts);
  }

  /** The object's body, or null when there is no such key. Raw SDK errors (the callers retry, then explain). */
  private async getStream(key: string, signal?: AbortSignal): Promise<Readable | null> {
    try {
      const { GetObjectCommand } = await import('@aws-sdk/client-s3');
      const res = await (await this.client()).send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.fullKey(key) }), { abortSignal: signal });
      return res.Body as Readable;
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') return null;
      throw err;
    }
  }

  async getFile(key: string, dest: string, options: TransferOptions = {}): Promise<void> {
    const opts = monotonic(options);
    await fs.mkdir(dirname(dest), { recursive: true });
    try {
      await withRetries(opts.signal, async () => {
        const body = await this.getStream(key, opts.signal);
        if (!body) throw failure(`no object '${key}' in ${this.description}`, { subject: key });
        const tmp = tempPathFor(dest);
        try {
          await pipeline(body, byteCounter(opts.onProgress), createWriteStream(tmp), { signal: opts.signal });
          crashPoint('remote.download-rename');
          await commitTemp(tmp, dest);
        } catch (err) {
          await fs.rm(tmp, { force: true });
          throw err;
        }
      });
    } catch (err) {
      throw this.explain(err, `download '${key}'`, key);
    }
  }

  async getBytes(key: string): Promise<Buffer | null> {
    try {
      return await withRetries(undefined, async () => {
        const body = await this.getStream(key);
        if (!body) return null;
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      });
    } catch (err) {
      throw this.explain(err, `download '${key}'`, key);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => ({ Key: this.fullKey(k) }));
      try {
        const { DeleteObjectsCommand } = await import('@aws-sdk/client-s3');
        await (await this.client()).send(new DeleteObjectsCommand({ Bucket: this.cfg.bucket, Delete: { Objects: batch, Quiet: true } }));
      } catch (err) {
        throw this.explain(err, `delete ${batch.length} objects`);
      }
    }
  }
}
