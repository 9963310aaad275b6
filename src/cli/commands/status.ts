// `rallycut status`: which stages would run, and why (the static view: no stage runs).
import type { HandlerRegistry } from '../../handler.js';
import { optBool, type ParsedArgs } from '../args.js';
import type { CommandIO, CommandSpec } from '../command.js';
import { requireProjectRoot } from '../../project.js';
import { planStatus } from '../../exec/reproduce.js';
import type { PlanItem } from '../../graph/plan.js';

const LABEL: Record<PlanItem['decision'], string> = {
  run: 'would run',
  'run-cache': 'would restore from run-cache',
  'restore-outs': 'would restore outs from cache',
  skip: 'up to date',
  frozen: 'frozen',
};

export function formatPlan(items: readonly PlanItem[]): string {
  const pending = items.filter((i) => i.decision !== 'skip' && i.decision !== 'frozen');
  if (pending.length === 0) return `Everything is up to date (${items.length} stage${items.length === 1 ? '' : 's'}).\n`;
  const lines: string[] = [];
  for (const i of items) {
    lines.push(`${i.stage}: ${LABEL[i.decision]}`);
    for (const r of i.reasons) if (r !== 'frozen') lines.push(`    ${r}`);
  }
  return lines.join('\n') + '\n';
}

export function statusCommand(registry: HandlerRegistry): CommandSpec {
  return {
    path: ['status'],
    summary: 'Show which stages would run, and why',
    positionals: [{ name: 'target', description: 'Limit to these stages and their upstream', variadic: true, complete: 'stage' }],
    options: [{ name: 'json', type: 'boolean', description: 'Print a machine-readable result on stdout' }],
    async run(args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const items = await planStatus(root, registry, { targets: args.positionals }, io);
      io.out(statusOutput(items, optBool(args, 'json')));
    },
  };
}

/** What status prints for a plan (the daemon prints the same for the ones it answers). */
export function statusOutput(items: readonly PlanItem[], json: boolean): string {
  if (!json) return formatPlan(items);
  const upToDate = items.every((i) => i.decision === 'skip' || i.decision === 'frozen');
  return JSON.stringify({ upToDate, stages: items }, null, 2) + '\n';
}
