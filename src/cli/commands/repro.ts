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
      const result = await reproduce(root, registry, opts, io);
      const err = resultError(result);
      // --json prints the full result (ok, stages, errors) on success and failure alike; the thrown error
      // says so, and the CLI adds no second document. Diagnostics still go to stderr.
      io.out(reproOutput(result, json));
      if (err) throw json ? printedAsJson(err) : err;
    },
  };
}
