// Multipart uploads that do not finish must be aborted: until then S3 keeps (and bills) their parts, and no
// object listing shows them. lib-storage's Upload aborts only in the background after `abort()` (its done()
// rejects at once, the AbortMultipartUpload is sent later, if the process still lives), and on a failure it
// replaces the failure with the abort's own error when that fails too. So the upload gets a client that
// records the upload ids it creates and the requests in flight, and `settle()` waits for those requests
// (cancelled by the transfer's signal) and then aborts every upload that was not completed.
import type { S3Client } from '@aws-sdk/client-s3';

type Send = S3Client['send'];

export interface TrackedClient {
  /** Hand this to lib-storage's Upload in place of the real client. */
  readonly client: S3Client;
  /** After a failed or aborted upload: waits for its requests, then aborts its unfinished multipart uploads. */
  settle(): Promise<void>;
}

interface Started {
  Bucket: string;
  Key: string;
  UploadId: string;
}

/** `signal` cancels requests still in flight (lib-storage does not pass its own signal to them). */
export function trackMultipart(real: S3Client, signal: AbortSignal): TrackedClient {
  const inFlight = new Set<Promise<unknown>>();
  const open = new Map<string, Started>();
  const send = (async (command: { constructor: { name: string }; input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) => {
    const name = command.constructor.name;
    const call = (real.send as (c: unknown, o?: unknown) => Promise<Record<string, unknown>>)(command, { ...options, abortSignal: signal });
    inFlight.add(call);
    try {
      const out = await call;
      const input = command.input;
      if (name === 'CreateMultipartUploadCommand' && typeof out.UploadId === 'string') {
        open.set(out.UploadId, { Bucket: String(input.Bucket), Key: String(input.Key), UploadId: out.UploadId });
      } else if ((name === 'CompleteMultipartUploadCommand' || name === 'AbortMultipartUploadCommand') && typeof input.UploadId === 'string') {
        open.delete(input.UploadId);
      }
      return out;
    } finally {
      inFlight.delete(call);
    }
  }) as unknown as Send;
  // Everything else (config, middleware) is the real client's: lib-storage reads its config.
  const client = new Proxy(real, { get: (target, prop, receiver) => (prop === 'send' ? send : Reflect.get(target, prop, receiver)) });
  return {
    client,
    async settle() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
      if (!open.size) return;
      const { AbortMultipartUploadCommand } = await import('@aws-sdk/client-s3');
      for (const started of [...open.values()]) {
        try {
          await real.send(new AbortMultipartUploadCommand(started));
        } catch (err) {
          // Already gone (a retried abort, or the server dropped it) is what we wanted.
          if ((err as { name?: string }).name !== 'NoSuchUpload') throw err;
        }
        open.delete(started.UploadId);
      }
    },
  };
}
