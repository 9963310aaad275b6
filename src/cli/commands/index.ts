// Engine commands. Each file in this folder exports a function building its CommandSpec(s) from the
// handler registry; list them here with the command paths they define. A command's module (and all it
// imports: yaml, ajv, the executors…) is loaded only when that command runs, so the CLI's start-up reads
// this table, not the commands. index.test.ts checks the paths against the real specs.
import type { HandlerRegistry } from '../../handler-contract.js';
import type { CommandSpec } from '../command.js';

interface CommandFile {
  readonly paths: readonly (readonly string[])[];
  load(registry: HandlerRegistry): Promise<CommandSpec[]>;
}

const FILES: readonly CommandFile[] = [
  { paths: [['repro']], load: async (r) => [(await import('./repro.js')).reproCommand(r)] },
  { paths: [['status']], load: async (r) => [(await import('./status.js')).statusCommand(r)] },
  { paths: [['checkout']], load: async () => [(await import('./checkout.js')).checkoutCommand()] },
  { paths: [['gc']], load: async () => [(await import('./gc.js')).gcCommand()] },
  { paths: [['doctor']], load: async (r) => [(await import('./doctor.js')).doctorCommand(r)] },
  { paths: [['dag']], load: async (r) => [(await import('./dag.js')).dagCommand(r)] },
  {
    paths: [
      ['exp', 'run'],
      ['exp', 'queue', 'start'],
      ['exp', 'exec'],
      ['exp', 'show'],
      ['exp', 'diff'],
      ['exp', 'apply'],
      ['exp', 'remove'],
    ],
    load: async (r) => (await import('./exp.js')).expCommands(r),
  },
  {
    paths: [
      ['metrics', 'show'],
      ['metrics', 'diff'],
      ['params', 'diff'],
    ],
    load: async (r) => (await import('./metrics.js')).metricsCommands(r),
  },
  {
    paths: [
      ['plots', 'show'],
      ['plots', 'diff'],
    ],
    load: async (r) => (await import('./plots.js')).plotsCommands(r),
  },
  {
    paths: [
      ['remote', 'add'],
      ['remote', 'list'],
      ['remote', 'remove'],
      ['remote', 'default'],
    ],
    load: async () => (await import('./remote.js')).remoteCommands(),
  },
  { paths: [['push'], ['pull']], load: async () => (await import('./sync.js')).syncCommands() },
  { paths: [['stage-run']], load: async (r) => [(await import('./stage-run.js')).stageRunCommand(r)] },
  { paths: [['completion']], load: async () => [(await import('./completion.js')).completionCommand()] },
  {
    paths: [
      ['daemon', 'start'],
      ['daemon', 'stop'],
      ['daemon', 'status'],
      ['daemon', 'run'],
    ],
    load: async (r) => (await import('./daemon.js')).daemonCommands(r),
  },
];

/** An engine command known by its path; `load` imports its module and builds the spec. */
export interface LazyCommand {
  readonly path: readonly string[];
  load(): Promise<CommandSpec>;
}

const samePath = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((p, i) => p === b[i]);

export function engineCommandTable(registry: HandlerRegistry): LazyCommand[] {
  return FILES.flatMap((f) =>
    f.paths.map((path) => ({
      path,
      async load() {
        const spec = (await f.load(registry)).find((c) => samePath(c.path, path));
        if (!spec) throw new Error(`internal: no engine command '${path.join(' ')}' in its module (fix src/cli/commands/index.ts)`);
        return spec;
      },
    })),
  );
}

/** Every engine command's spec (loads every command module: for help and docs, not for running one). */
export async function engineCommands(registry: HandlerRegistry): Promise<CommandSpec[]> {
  return (await Promise.all(FILES.map((f) => f.load(registry)))).flat();
}
