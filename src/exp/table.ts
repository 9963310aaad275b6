// Tables over snapshots: `exp show` (varying params + all metrics, one row each) and the two-column
// diffs behind `exp diff`, `params diff` and `metrics diff`.
import { configError } from '../diagnostics.js';
import type { Cell } from '../report/printer.js';
import { flatMetrics, flatParams, type Snapshot } from './snapshot.js';

export interface ExpTable {
  readonly headers: string[];
  readonly rows: Cell[][];
  readonly params: string[];
  readonly metrics: string[];
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function buildExpTable(snaps: readonly Snapshot[], opts: { sortBy?: string; columns?: string; ascending?: boolean } = {}): ExpTable {
  const params = snaps.map((s) => flatParams(s.params));
  const metrics = snaps.map((s) => flatMetrics(s.metrics));
  const paramKeys = [...new Set(params.flatMap((p) => Object.keys(p)))].sort().filter((k) => params.some((p) => !same(p[k], params[0]![k])));
  let metricKeys = [...new Set(metrics.flatMap((m) => Object.keys(m)))].sort();
  if (opts.columns) metricKeys = metricKeys.filter((k) => k.includes(opts.columns!));
  let order = snaps.map((_, i) => i);
  if (opts.sortBy) {
    const key = metricKeys.find((k) => k === opts.sortBy) ?? metricKeys.find((k) => k.endsWith(`:${opts.sortBy}`)) ?? paramKeys.find((k) => k === opts.sortBy);
    if (!key) throw configError(`--sort-by '${opts.sortBy}' names no metric or varying param`, { subject: opts.sortBy, notes: metricKeys.length ? [`metrics: ${metricKeys.slice(0, 8).join(', ')}${metricKeys.length > 8 ? ', …' : ''}`] : [] });
    const val = (i: number): unknown => metrics[i]![key] ?? params[i]![key];
    // Experiments sort largest first (smallest with `ascending`, e.g. a loss); workspace/HEAD rows stay on top.
    const dir = opts.ascending ? -1 : 1;
    order = order.sort((a, b) => {
      const pin = Number(snaps[a]!.kind === 'exp') - Number(snaps[b]!.kind === 'exp');
      if (pin) return pin;
      const va = val(a);
      const vb = val(b);
      if (typeof va === 'number' && typeof vb === 'number') return dir * (vb - va);
      if (va === undefined || va === null) return 1;
      if (vb === undefined || vb === null) return -1;
      return dir * String(va).localeCompare(String(vb));
    });
  }
  const headers = ['Experiment', 'Status', 'Created', 'Baseline', ...paramKeys, ...metricKeys];
  const rows = order.map((i) => {
    const s = snaps[i]!;
    return [
      s.kind === 'exp' ? s.name : s.kind === 'head' ? `${s.name} (committed)` : 'workspace',
      s.status ?? null,
      s.created ? s.created.replace('T', ' ').slice(0, 19) : null,
      s.baseline ? s.baseline.slice(0, 7) : null,
      ...paramKeys.map((k) => params[i]![k] ?? null),
      ...metricKeys.map((k) => metrics[i]![k] ?? null),
    ] as Cell[];
  });
  return { headers, rows, params: paramKeys, metrics: metricKeys };
}

export function toCsv(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cell = (c: Cell): string => {
    const t = c === null || c === undefined ? '' : String(c);
    return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  return [headers, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

export interface DiffRow {
  readonly key: string;
  readonly a: Cell;
  readonly b: Cell;
  /** b − a for numbers. */
  readonly change: number | null;
}

/** Keys whose values differ between a and b (all keys with `all`). */
export function diffFlat(a: Record<string, Cell>, b: Record<string, Cell>, all = false): DiffRow[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => all || !same(a[k], b[k]))
    .map((k) => {
      const va = a[k] ?? null;
      const vb = b[k] ?? null;
      return { key: k, a: va, b: vb, change: typeof va === 'number' && typeof vb === 'number' ? vb - va : null };
    });
}

export function diffSnapshots(a: Snapshot, b: Snapshot, what: 'params' | 'metrics', all = false): DiffRow[] {
  return what === 'params' ? diffFlat(flatParams(a.params), flatParams(b.params), all) : diffFlat(flatMetrics(a.metrics), flatMetrics(b.metrics), all);
}
