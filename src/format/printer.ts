// The one printer: diagnostics with code frames, tables and JSON. Everything user-facing goes through here.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Diagnostic } from '../diagnostics.js';

export interface PrintOptions {
  /** Project root, to read source files for code frames. */
  root?: string;
  color?: boolean;
}

function codeFrame(source: string, d: Diagnostic): string[] {
  if (!d.start) return [];
  const lines = source.split(/\r?\n/);
  const first = Math.max(1, d.start.line - 1);
  const last = Math.min(lines.length, (d.end?.line ?? d.start.line) + 1);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const text = lines[n - 1] ?? '';
    const marker = n === d.start.line ? '>' : ' ';
    out.push(`${marker} ${String(n).padStart(width)} | ${text}`);
    if (n === d.start.line) {
      const endCol = d.end && d.end.line === n ? Math.max(d.end.column, d.start.column + 1) : text.length + 1;
      const carets = Math.max(1, endCol - d.start.column);
      out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, d.start.column - 1))}${'^'.repeat(carets)}`);
    }
  }
  return out;
}

export function formatDiagnostic(d: Diagnostic, opts: PrintOptions = {}): string {
  const where = d.file ? `${d.file}${d.start ? `:${d.start.line}:${d.start.column}` : ''}: ` : '';
  const subject = d.subject ? `[${d.subject}] ` : '';
  const lines = [`${where}${d.severity ?? 'error'}: ${subject}${d.message}`];
  if (d.file && d.start) {
    try {
      const path = isAbsolute(d.file) || !opts.root ? d.file : join(opts.root, d.file);
      lines.push(...codeFrame(readFileSync(path, 'utf8'), d));
    } catch {
      // The file may be gone or unreadable; the position alone still helps.
    }
  }
  for (const note of d.notes ?? []) lines.push(`  note: ${note}`);
  return lines.join('\n');
}

export function formatDiagnostics(list: readonly Diagnostic[], opts: PrintOptions = {}): string {
  return list.map((d) => formatDiagnostic(d, opts)).join('\n\n') + (list.length ? '\n' : '');
}

export type Cell = string | number | boolean | null | undefined;

/** How a table cell is printed: '-' for nothing, numbers through formatNumber. */
export function cellText(c: Cell): string {
  return c === null || c === undefined ? '-' : typeof c === 'number' ? formatNumber(c) : String(c);
}

/** Columns holding numbers (and gaps) only; a column of gaps alone is not one. */
function numericColumns(headers: readonly string[], rows: readonly (readonly Cell[])[]): boolean[] {
  return headers.map((_, i) => rows.some((r) => typeof r[i] === 'number') && rows.every((r) => typeof r[i] === 'number' || r[i] == null));
}

/** A plain aligned text table; numbers are right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = rows.map((r) => headers.map((_, i) => cellText(r[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const numeric = numericColumns(headers, rows);
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n') + '\n';
}

/** A GitHub-flavoured Markdown table (pipes in cells escaped); numeric columns right-aligned. */
export function formatMarkdownTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const esc = (t: string): string => t.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const numeric = numericColumns(headers, rows);
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  return (
    [line(headers.map(esc)), line(numeric.map((n) => (n ? '---:' : '---'))), ...rows.map((r) => line(headers.map((_, i) => esc(cellText(r[i])))))].join('\n') +
    '\n'
  );
}

/** 1536 → '1.5 KiB'. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return n.toExponential(3);
  return String(Number(n.toFixed(4)));
}

/** Stable JSON: object keys sorted recursively, 2-space indent, trailing newline. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value), null, 2) + '\n';
}

export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
