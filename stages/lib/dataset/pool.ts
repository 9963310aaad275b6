// Runs work items with bounded parallelism and collects per-item failures instead of stopping at the
// first, so one bad video never costs the others.
import { setMaxListeners } from 'node:events';

export interface ItemFailure<T> {
  item: T;
  error: unknown;
}

export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>, signal?: AbortSignal): Promise<ItemFailure<T>[]> {
  // Each in-flight transfer listens on the signal (streams, uploads); many at once is expected, not a leak.
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
