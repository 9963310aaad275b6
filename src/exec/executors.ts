// The executors `rallycut repro` can use, by the name a stage gives in `executor:`.
import type { Executor } from './executor.js';
import { localExecutor } from './local.js';
import { modalExecutor } from './modal/executor.js';

export const executors: Readonly<Record<string, Executor>> = { local: localExecutor, modal: modalExecutor };

export function executorFor(name: string): Executor | undefined {
  return executors[name];
}
