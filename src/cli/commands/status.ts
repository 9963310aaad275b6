// `rallycut status`: which stages would run, and why (the static view: no stage runs).
import type { HandlerRegistry } from '../../handler-contract.js';
import { optBool, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';
import { requireProjectRoot } from '../../project.js';
import { planStatus } from '../../exec/reproduce.js';
import { STATUS_OPTIONS, STATUS_POSITIONALS } from '../../exec/command-line.js';
import { statusOutput } from '../../exec/plan-output.js';

export function statusCommand(registry: HandlerRegistry): CommandSpec {
  return {
    path: ['status'],
    summary: 'Show which stages would run, and why',
    positionals: STATUS_POSITIONALS,
    options: STATUS_OPTIONS,
    async run(args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const items = await planStatus(root, registry, { targets: args.positionals }, io);
      io.out(statusOutput(items, optBool(args, 'json')));
    },
  };
}
