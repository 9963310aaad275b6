// Executors by the name a stage gives in `executor:`. Each is loaded only when a stage that uses it runs,
// so a no-op repro never imports a cloud SDK. To add one, append a line: name → dynamic import.
import type { Executor } from './executor.js';
import { localExecutor } from './local.js';

const loaders: Record<string, () => Promise<Executor>> = {
  local: async () => localExecutor,
};

export function knownExecutors(): string[] {
  return Object.keys(loaders).sort();
}

export async function loadExecutor(name: string): Promise<Executor | undefined> {
  const load = loaders[name];
  return load ? load() : undefined;
}
