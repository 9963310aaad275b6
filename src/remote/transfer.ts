// Helpers every bulk transfer over a Remote needs: one paginated listing as key → size (what the remote
// already holds, without a request per object), and bounded parallelism that collects per-item failures
// instead of stopping at the first, so one bad object never costs the others.
import { setMaxListeners } from 'node:events';
import type { Remote } from './remote.js';

export async function listSizes(remote: Remote, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const o of remote.list(prefix)) out.set(o.key, o.size);
  return out;
}

export interface ItemFailure<T> {
  item: T;
  error: unknown;
}

export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<ItemFailure<T>[]> {
  // Each in-flight transfer listens on the signal; many at once is expected, not a leak.
  if (signal) setMaxListeners(Math.max(20, limit * 4), signal);
  const failures: ItemFailure<T>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      if (signal?.aborted) return;
      const index = next++;
      const item = items[index]!;
      try {
        await fn(item, index);
      } catch (error) {
        failures.push({ item, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return failures;
}
