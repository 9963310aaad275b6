// Which columns `exp show` prints. A project easily has hundreds of metric leaves (config echoes, counts,
// every tp/fp/fn); by default the table shows the params that vary and the headline metrics that
// pipeline.yaml names (`headline:` on a metrics file), and in a terminal it drops what does not fit,
// saying so. --all, --keep, --drop and --only-changed change the choice; JSON and CSV keep every metric.
import { cellText, type Cell } from '../format/printer.js';
import { pick, type ExpColumn, type ExpTable } from './table.js';

/** A headline metric as pipeline.yaml declares it: a metrics file, a dotted key in it, maybe a label. */
export interface HeadlineMetric {
  readonly file: string;
  readonly key: string;
  readonly label?: string;
}

export interface ColumnChoice {
  /** Every column (unchanged params too), not only the default choice. */
  readonly all?: boolean;
  /** Columns always shown (they win over --drop, --only-changed and the width). */
  readonly keep?: RegExp;
  readonly drop?: RegExp;
  /** Only params and metrics whose values differ between rows. */
  readonly onlyChanged?: boolean;
  readonly headline: readonly HeadlineMetric[];
  /** Every metric and the info columns, not only the headline ones (JSON, CSV). */
  readonly everything?: boolean;
  /** Terminal width to fit the table in; undefined: no limit. */
  readonly width?: number;
}

export interface ShownTable {
  readonly headers: string[];
  /** The full column ids of the shown columns (JSON keys). */
  readonly ids: string[];
  readonly rows: Cell[][];
  readonly total: number;
  /** Columns the default choice leaves out (not hidden by the width): --all shows them. */
  readonly unselected: number;
  /** Headers of columns chosen but left out to fit the width. */
  readonly hidden: string[];
  /** Declared headline keys that no row has, in a metrics file that rows do have (a typo, or a renamed key). */
  readonly headlineMissing: string[];
}

const idOf = (h: HeadlineMetric): string => `${h.file}:${h.key}`;

/** Column ids of the declared headline metrics → their labels (for --sort-by by label). */
export function headlineLabels(headline: readonly HeadlineMetric[]): Map<string, string> {
  return new Map(headline.flatMap((h) => (h.label ? [[idOf(h), h.label] as const] : [])));
}

export function chooseColumns(table: ExpTable, choice: ColumnChoice): ShownTable {
  const headlineOrder = new Map(choice.headline.map((h, i) => [idOf(h), i]));
  const labels = headlineLabels(choice.headline);
  const matches = (re: RegExp | undefined, c: ExpColumn): boolean => {
    if (!re) return false;
    const label = labels.get(c.id);
    return re.test(c.id) || (label !== undefined && re.test(label));
  };
  const byDefault = (c: ExpColumn): boolean => {
    if (choice.all) return true;
    switch (c.kind) {
      case 'info':
        return c.id !== 'Baseline' || c.varies || choice.everything === true;
      case 'param':
        return c.varies;
      case 'metric':
        return choice.everything === true || headlineOrder.size === 0 || headlineOrder.has(c.id);
    }
  };
  const chosen = (c: ExpColumn): boolean => {
    if (c.id === 'Experiment' || matches(choice.keep, c)) return true;
    if (matches(choice.drop, c)) return false;
    if (choice.onlyChanged && c.kind !== 'info' && !c.varies) return false;
    return byDefault(c);
  };
  const indexes = table.columns.flatMap((c, i) => (chosen(c) ? [i] : []));
  const unselected = table.columns.filter((c) => !chosen(c) && !matches(choice.drop, c) && !(choice.onlyChanged && c.kind !== 'info' && !c.varies)).length;
  // Display order: info, params, then the headline metrics in their declared order, then the others.
  const rank = (i: number): number => {
    const c = table.columns[i]!;
    const h = headlineOrder.get(c.id);
    return c.kind === 'metric' ? (h !== undefined ? 1e6 + h : 2e6 + i) : i;
  };
  indexes.sort((a, b) => rank(a) - rank(b));

  const metricKeys = indexes.map((i) => table.columns[i]!).filter((c) => c.kind === 'metric');
  const header = (c: ExpColumn): string => {
    if (c.kind !== 'metric') return c.id;
    const label = labels.get(c.id);
    if (label) return label;
    return metricKeys.filter((m) => m.key === c.key).length === 1 ? c.key! : c.id;
  };
  let shown = indexes;
  let hidden: number[] = [];
  if (choice.width !== undefined) ({ shown, hidden } = fit(table, indexes, header, (c) => matches(choice.keep, c), choice));
  const files = new Set(table.columns.flatMap((c) => (c.file ? [c.file] : [])));
  const ids = new Set(table.columns.map((c) => c.id));
  return {
    headers: shown.map((i) => header(table.columns[i]!)),
    ids: shown.map((i) => table.columns[i]!.id),
    rows: pick(table.cells, shown),
    total: table.columns.length,
    unselected,
    hidden: hidden.map((i) => header(table.columns[i]!)),
    headlineMissing: choice.headline.filter((h) => files.has(h.file) && !ids.has(idOf(h))).map(idOf),
  };
}

/**
 * Keeps the columns that fit `width`, most wanted first: the experiment name, --keep columns, varying
 * params, headline metrics, status and date, then the rest. The kept columns stay in display order.
 */
function fit(
  table: ExpTable,
  indexes: readonly number[],
  header: (c: ExpColumn) => string,
  kept: (c: ExpColumn) => boolean,
  choice: ColumnChoice,
): { shown: number[]; hidden: number[] } {
  const headlineOrder = new Map(choice.headline.map((h, i) => [idOf(h), i]));
  const priority = (i: number): number => {
    const c = table.columns[i]!;
    if (c.id === 'Experiment') return 0;
    if (kept(c)) return 1;
    if (c.kind === 'param' && c.varies) return 2; // what tells the experiments apart
    const h = headlineOrder.get(c.id);
    if (h !== undefined) return 3 + h / 1e4;
    if (c.id === 'Status') return 4;
    if (c.id === 'Created') return 5;
    if (c.kind === 'metric') return 6;
    if (c.kind === 'param') return 7;
    return 8;
  };
  const widthOf = (i: number): number => Math.max(header(table.columns[i]!).length, ...table.cells.map((r) => cellText(r[i]).length));
  const byPriority = [...indexes].sort((a, b) => priority(a) - priority(b) || indexes.indexOf(a) - indexes.indexOf(b));
  const keep = new Set<number>();
  let used = 0;
  // Strictly by priority: once one column does not fit, nothing less wanted is shown (a narrow late
  // column slipping in after a hidden headline metric would read as if that metric came next).
  for (const i of byPriority) {
    const w = widthOf(i) + (keep.size ? 2 : 0);
    if (keep.size > 0 && used + w > choice.width!) break;
    keep.add(i);
    used += w;
  }
  return { shown: indexes.filter((i) => keep.has(i)), hidden: indexes.filter((i) => !keep.has(i)) };
}

/** What the table leaves out and how to see it (stderr, below the table); '' when nothing is left out. */
export function omittedNote(shown: ShownTable, width: number | undefined): string {
  const lines: string[] = [];
  if (shown.hidden.length) {
    const names = shown.hidden.slice(0, 6).join(', ') + (shown.hidden.length > 6 ? ', …' : '');
    lines.push(
      `${shown.hidden.length} column${shown.hidden.length > 1 ? 's' : ''} hidden to fit ${width} columns (${names}): ` +
        'widen the terminal, leave others out with --drop REGEX, or print with --md, --csv or --json',
    );
  }
  if (shown.unselected) {
    lines.push(
      `${shown.unselected} more column${shown.unselected > 1 ? 's' : ''} (metrics outside the headline, unchanged params): --all shows them, --keep REGEX picks some`,
    );
  }
  for (const id of shown.headlineMissing) lines.push(`headline metric '${id}' is in no row: check the key in pipeline.yaml (headline:)`);
  return lines.map((l) => `note: ${l}\n`).join('');
}

/** A --keep/--drop pattern; a bad one is a usage error naming the option. */
export function parsePattern(option: string, text: string | undefined, fail: (message: string) => Error): RegExp | undefined {
  if (text === undefined) return undefined;
  try {
    return new RegExp(text);
  } catch (err) {
    throw fail(`--${option} '${text}' is not a valid regular expression: ${(err as Error).message}`);
  }
}
