// The run-cache (DVC's idea): for each fingerprint a stage has run with, the outs it produced and its log.
// A changed stage whose fingerprint was seen before gets its outs checked out and its log replayed
// instead of running again. Layout: <cacheDir>/runs/<key[0:2]>/<key>.json
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { LockedOut } from '../lock/types.js';
import { writeFileAtomic } from '../fsutil.js';
import { stableJson } from '../format/printer.js';

export interface RunRecord {
  readonly stage: string;
  readonly outs: readonly LockedOut[];
  /** The stage's captured log lines, without the [stage] prefix. */
  readonly log: readonly string[];
  readonly created: string;
}

export class RunCache {
  constructor(readonly cacheDir: string) {}

  pathFor(key: string): string {
    return join(this.cacheDir, 'runs', key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<RunRecord | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.pathFor(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const parsed = JSON.parse(text) as Partial<RunRecord>;
      if (!Array.isArray(parsed.outs) || !Array.isArray(parsed.log)) return undefined;
      return parsed as RunRecord;
    } catch {
      return undefined; // a damaged record is as good as none: the stage just runs
    }
  }

  async save(key: string, record: RunRecord): Promise<void> {
    await writeFileAtomic(this.pathFor(key), stableJson(record), 'runcache.save');
  }
}
