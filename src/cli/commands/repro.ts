// `rallycut repro`: bring the pipeline's outputs up to date (DVC semantics, parallel, cached).
import type { HandlerRegistry } from '../../handler-contract.js';
import { optBool, optNumber, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';
import { printedAsJson } from '../../diagnostics.js';
import { requireProjectRoot } from '../../project.js';
import { reproduce, resultError } from '../../exec/reproduce.js';
import { REPRO_OPTIONS, REPRO_POSITIONALS, reproOptions } from '../../exec/command-line.js';
import { reproOutput } from '../../exec/plan-output.js';
import { watchPipeline } from '../../exec/watch.js';
import { Board, useColor } from '../../format/board.js';
import { routeProgress } from '../../format/progress.js';

export function reproCommand(registry: HandlerRegistry): CommandSpec {
  return {
    path: ['repro'],
    summary: 'Run the stages whose inputs changed (all of them, or TARGETs and their upstream)',
    description:
      'A stage runs when its definition, a dep, a tracked param, a tool version or an external stamp changed, or an out is ' +
      'missing or modified. Missing outs with unchanged inputs are restored from the cache; a stage whose inputs match an ' +
      'earlier run is restored from the run-cache. Independent stages run in parallel.',
    positionals: REPRO_POSITIONALS,
    options: REPRO_OPTIONS,
    async run(args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const opts = reproOptions(args);
      if (optBool(args, 'watch')) return watchPipeline(root, registry, { ...opts, debounceMs: optNumber(args, 'debounce') ?? 150 }, io);
      const json = optBool(args, 'json');
      const result = await withBoard(io, (io2) => reproduce(root, registry, opts, io2));
      const err = resultError(result);
      // --json prints the full result (ok, stages, errors) on success and failure alike; the thrown error
      // says so, and the CLI adds no second document. Diagnostics still go to stderr.
      io.out(reproOutput(result, json));
      if (err) throw json ? printedAsJson(err) : err;
    },
  };
}

/**
 * In a terminal (stderr), runs `fn` with the live board: one line per running stage, redrawn in place,
 * log lines above it. Elsewhere (a pipe, CI, RALLYCUT_PROGRESS=0) with `io` as it is: line-per-step bars.
 */
export async function withBoard<T>(io: CommandIO, fn: (io: CommandIO & { board?: Board }) => Promise<T>): Promise<T> {
  if (!io.errTTY || io.env.RALLYCUT_PROGRESS === '0') return fn(io);
  const board = new Board({ write: (t) => io.err(t), columns: io.errColumns, color: useColor(io.env) });
  routeProgress(board);
  try {
    return await fn({ ...io, err: (t) => board.log(t), board });
  } finally {
    routeProgress(undefined);
    board.close();
  }
}
