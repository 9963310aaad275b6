// What `repro` and `status` print on stdout for a plan or a result. Below the CLI because the project daemon
// (src/daemon/) prints the same bytes for the no-ops it answers.
import type { PlanItem } from '../graph/plan.js';
import type { ReproResult } from './reproduce.js';
import { formatEstimate } from './modal/estimate.js';

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

export function formatSummary(result: ReproResult): string {
  const count = (o: string): number => result.stages.filter((s) => s.outcome === o).length;
  const parts = [
    `ran ${count('ran')}`,
    `skipped ${count('skipped')}`,
    `restored ${count('restored')}`,
    `run-cache ${count('run-cache')}`,
    ...(count('frozen') ? [`frozen ${count('frozen')}`] : []),
    `failed ${count('failed')}`,
    ...(result.notStarted.length ? [`not run ${result.notStarted.length}`] : []),
  ];
  const lines = [`${result.ok ? 'Done' : 'Failed'}: ${parts.join(', ')}`];
  for (const s of result.stages) if (s.outcome === 'failed') lines.push(`  failed: ${s.stage}`);
  for (const n of result.notStarted) lines.push(`  not run: ${n.stage} (${n.reason})`);
  return lines.join('\n') + '\n';
}

/** What repro prints on stdout for a result. */
export function reproOutput(result: ReproResult, json: boolean): string {
  if (json) return JSON.stringify(result, null, 2) + '\n';
  return result.plan ? formatPlan(result.plan) + (result.remote ?? []).map(formatEstimate).join('') : formatSummary(result);
}

/** What status prints for a plan. */
export function statusOutput(items: readonly PlanItem[], json: boolean): string {
  if (!json) return formatPlan(items);
  const upToDate = items.every((i) => i.decision === 'skip' || i.decision === 'frozen');
  return JSON.stringify({ upToDate, stages: items }, null, 2) + '\n';
}
