// The Remote seam: one interface for the local-folder remote and S3, shared by the dataset commands
// (train push/pull) and the engine's cache remote (rallycut push/pull). Keys are '/'-separated.
// Implementations: local.ts (folder), s3.ts (AWS SDK). One shared test suite runs against both.

export interface RemoteObject {
  key: string;
  size: number;
}

export interface TransferOptions {
  /** Bytes transferred so far for this object. */
  onProgress?(bytes: number): void;
  signal?: AbortSignal;
}

export interface PutOptions extends TransferOptions {
  storageClass?: string; // e.g. STANDARD_IA; ignored by the folder remote
  contentType?: string;
}

export interface Remote {
  /** For messages: 's3://bucket/prefix (endpoint …)' or a folder path. Never contains credentials. */
  readonly description: string;
  /** Every object under the prefix, paginated internally. */
  list(prefix: string): AsyncIterable<RemoteObject>;
  /** Uploads a local file; atomic from a reader's point of view. */
  putFile(key: string, file: string, opts?: PutOptions): Promise<void>;
  putBytes(key: string, data: Uint8Array | string, opts?: PutOptions): Promise<void>;
  /** Downloads to `dest` via a temp file + rename; the caller verifies hashes before trusting it. */
  getFile(key: string, dest: string, opts?: TransferOptions): Promise<void>;
  /** The object's bytes, or null when absent. */
  getBytes(key: string): Promise<Buffer | null>;
  delete(keys: readonly string[]): Promise<void>;
}
