// Tables over snapshots: `exp show` (one row per experiment, a column per param and metric; which columns
// are shown is columns.ts's choice) and the two-column diffs behind `exp diff`, `params diff` and `metrics diff`.
import { configError } from '../diagnostics.js';
import type { Cell } from '../format/printer.js';
import { flatMetrics, flatParams, type Snapshot } from './snapshot.js';

export type ColumnKind = 'info' | 'param' | 'metric';

export interface ExpColumn {
  /** Full name: 'Experiment', 'train.lr', 'params/x.yaml:key', 'metrics/evaluate.json:greedy.f1'. */
  readonly id: string;
  readonly kind: ColumnKind;
  /** The values differ between rows. */
  readonly varies: boolean;
  /** Metrics: the file and the dotted key within it. */
  readonly file?: string;
  readonly key?: string;
}

export interface ExpTable {
  /** Every column: the info columns, every param, every metric (in that order). */
  readonly columns: readonly ExpColumn[];
  /** One row per snapshot, a cell per column. */
  readonly cells: Cell[][];
  /** The classic everything-table (JSON, CSV, the HTML report): info, varying params, all metrics. */
  readonly headers: string[];
  readonly rows: Cell[][];
  readonly params: string[];
  readonly metrics: string[];
}

export const INFO_COLUMNS = ['Experiment', 'Status', 'Created', 'Baseline'] as const;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export interface TableOptions {
  sortBy?: string;
  ascending?: boolean;
  /** Only metric columns whose name contains this text (the HTML report's F1 table). */
  columns?: string;
  /** Labels of headline metrics (column id → label): --sort-by accepts them too. */
  labels?: ReadonlyMap<string, string>;
}

export function buildExpTable(snaps: readonly Snapshot[], opts: TableOptions = {}): ExpTable {
  const params = snaps.map((s) => flatParams(s.params));
  const metrics = snaps.map((s) => flatMetrics(s.metrics));
  const varies = (vals: readonly Record<string, unknown>[], k: string): boolean => vals.some((p) => !same(p[k], vals[0]![k]));
  const allParams = [...new Set(params.flatMap((p) => Object.keys(p)))].sort();
  const paramKeys = allParams.filter((k) => varies(params, k));
  let metricKeys = [...new Set(metrics.flatMap((m) => Object.keys(m)))].sort();
  if (opts.columns) metricKeys = metricKeys.filter((k) => k.includes(opts.columns!));
  let order = snaps.map((_, i) => i);
  if (opts.sortBy) {
    const by = opts.sortBy;
    const labelled = [...(opts.labels ?? new Map<string, string>())].find(([, label]) => label === by)?.[0];
    const key =
      metricKeys.find((k) => k === by) ??
      (labelled && metricKeys.includes(labelled) ? labelled : undefined) ??
      metricKeys.find((k) => k.endsWith(`:${by}`)) ??
      paramKeys.find((k) => k === by);
    if (!key)
      throw configError(`--sort-by '${by}' names no metric or varying param`, {
        subject: by,
        notes: metricKeys.length ? [`metrics: ${metricKeys.slice(0, 8).join(', ')}${metricKeys.length > 8 ? ', …' : ''}`] : [],
      });
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
  const info = (s: Snapshot): Cell[] => [
    s.kind === 'exp' ? s.name : s.kind === 'head' ? `${s.name} (committed)` : 'workspace',
    s.status ?? null,
    s.created ? s.created.replace('T', ' ').slice(0, 19) : null,
    s.baseline ? s.baseline.slice(0, 7) : null,
  ];
  const infoRows = snaps.map(info);
  const columns: ExpColumn[] = [
    // Info columns vary when their values do among the rows that have one (workspace and HEAD have no baseline).
    ...INFO_COLUMNS.map((id, c) => ({ id, kind: 'info' as const, varies: new Set(infoRows.flatMap((r) => (r[c] == null ? [] : [String(r[c])]))).size > 1 })),
    ...allParams.map((id) => ({ id, kind: 'param' as const, varies: paramKeys.includes(id) })),
    ...metricKeys.map((id) => {
      const colon = id.indexOf(':');
      return { id, kind: 'metric' as const, varies: varies(metrics, id), file: id.slice(0, colon), key: id.slice(colon + 1) };
    }),
  ];
  const cells = order.map((i) => [...infoRows[i]!, ...allParams.map((k) => params[i]![k] ?? null), ...metricKeys.map((k) => metrics[i]![k] ?? null)] as Cell[]);
  const classic = columns.flatMap((c, i) => (c.kind !== 'param' || c.varies ? [i] : []));
  return {
    columns,
    cells,
    headers: classic.map((i) => columns[i]!.id),
    rows: pick(cells, classic),
    params: paramKeys,
    metrics: metricKeys,
  };
}

/** Rows restricted to some columns (indexes into the full column list). */
export function pick(cells: readonly (readonly Cell[])[], indexes: readonly number[]): Cell[][] {
  return cells.map((r) => indexes.map((i) => r[i] ?? null));
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
