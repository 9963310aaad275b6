// What the machine recorded for each stage in pipeline.lock (git-tracked YAML). Distinct from StageConfig
// (what the user wrote) and Stage (resolved). Reading/writing lives in lock.ts.

export const LOCK_SCHEMA_VERSION = '1.0';

export interface LockedPath {
  path: string; // posix, relative to the project root
  sha256: string; // files: content hash; folders: hash of the sorted manifest (see src/hash/)
  size: number; // bytes (sum over files for a folder)
  nfiles?: number; // folders only
}

export interface LockedOut extends LockedPath {
  isexec?: true; // a file out with an execute bit; checkout restores it (folders record it per file)
  cache?: false; // present only when the out is not stored in .cache/objects
}

export interface LockEntry {
  cmd?: string[]; // resolved commands (cmd stages)
  handler?: string; // handler stages
  with?: Record<string, unknown>;
  wdir?: string; // omitted when '.'
  executor?: string; // omitted when 'local'
  deps: LockedPath[]; // sorted by path
  params: Record<string, Record<string, unknown>>; // file → dotted key → value, sorted
  outs: LockedOut[]; // sorted by path
  versions?: Record<string, string>; // tool versions reported by the handler
  stamp?: string; // external-state stamp reported by the handler
}

export interface LockFile {
  schema: string;
  stages: Record<string, LockEntry>; // sorted by stage name when written
}
