// `${...}` interpolation, as in dvc.yaml. Values come from a context (params/default.yaml, vars, foreach
// item). In commands every inserted value is shell-quoted, so a param can never run code; elsewhere a value
// that is exactly "${x}" keeps x's type (number, list, object).

export type Context = Readonly<Record<string, unknown>>;

export interface InterpolationProblem {
  message: string;
  /** The `${...}` text as written, to locate it in the source. */
  expr: string;
  /** Which occurrence of `expr` in the string (0-based), for positioning. */
  occurrence: number;
  notes?: string[];
}

export type QuoteMode = 'shell' | 'none';

/** Told of every name a `${...}` resolved (to record the params a stage's text depends on). */
export type Track = (parts: readonly (string | number)[]) => void;

const TOKEN = /(\\?)\$\{([^}]*)\}/g;
const EXPR = /^[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*$/;

export function hasInterpolation(text: string): boolean {
  TOKEN.lastIndex = 0;
  return TOKEN.test(text);
}

/** Splits `a.b[0].c` into ['a', 'b', 0, 'c']. */
export function parseExpression(expr: string): (string | number)[] | undefined {
  const trimmed = expr.trim();
  if (!EXPR.test(trimmed)) return undefined;
  const parts: (string | number)[] = [];
  for (const m of trimmed.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) parts.push(Number(m[2]));
    else parts.push(m[1]!);
  }
  return parts;
}

export type Lookup = { ok: true; value: unknown } | { ok: false; message: string; notes: string[] };

export function lookup(ctx: Context, parts: readonly (string | number)[]): Lookup {
  let cur: unknown = ctx;
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    const shown = formatPath(parts.slice(0, i + 1));
    if (Array.isArray(cur)) {
      const idx = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : NaN;
      if (!Number.isInteger(idx) || idx >= cur.length) {
        return {
          ok: false,
          message: `'${formatPath(parts)}' is not defined`,
          notes: [`'${formatPath(parts.slice(0, i))}' is a list of ${cur.length} item(s); '${shown}' is out of range`],
        };
      }
      cur = cur[idx];
    } else if (cur !== null && typeof cur === 'object') {
      const obj = cur as Record<string, unknown>;
      if (!Object.hasOwn(obj, String(seg))) {
        const keys = Object.keys(obj).sort();
        const where = i === 0 ? 'vars and params/default.yaml define' : `'${formatPath(parts.slice(0, i))}' has keys`;
        const notes = [
          keys.length
            ? `${where}: ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ', …' : ''}`
            : `${i === 0 ? 'no vars are defined' : `'${formatPath(parts.slice(0, i))}' is empty`}`,
        ];
        const close = suggest(String(seg), keys);
        if (close) notes.unshift(`did you mean '${formatPath([...parts.slice(0, i), close])}'?`);
        return { ok: false, message: `'${formatPath(parts)}' is not defined`, notes };
      }
      cur = obj[String(seg)];
    } else {
      return { ok: false, message: `'${formatPath(parts)}' is not defined`, notes: [`'${formatPath(parts.slice(0, i))}' is ${describe(cur)}, not an object`] };
    }
  }
  return { ok: true, value: cur };
}

export function formatPath(parts: readonly (string | number)[]): string {
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * The `${...}` of a shell command written inside the user's own quotes, where the quoting shellQuote()
 * adds does not hold (in "…" its single quotes are literal; in '…' they close and reopen the user's): a
 * `$(...)` or backtick in the value would run. `occurrence` counts every earlier appearance of the same
 * text, as YamlSource.rangeWithin does.
 */
export function interpolationsInQuotes(cmd: string): { expr: string; occurrence: number }[] {
  const found: { expr: string; occurrence: number }[] = [];
  let quote = '';
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i];
    if (quote === "'" && c === "'") quote = '';
    else if (c === '\\' && quote !== "'") i++;
    else if (c === '"' && quote !== "'") quote = quote ? '' : '"';
    else if (c === "'" && !quote) quote = "'";
    else if (c === '$' && cmd[i + 1] === '{') {
      const end = cmd.indexOf('}', i);
      if (end < 0) break;
      const expr = cmd.slice(i, end + 1);
      if (quote) found.push({ expr, occurrence: cmd.slice(0, i).split(expr).length - 1 });
      i = end;
    }
  }
  return found;
}

/** Single-quotes `s` for /bin/sh unless it is made only of characters the shell leaves alone. */
export function shellQuote(s: string): string {
  if (s !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A mapping inserted into a command, as DVC's `to_str` does with its defaults (parsing.bool: store_true,
 * parsing.list: nargs): `--key value` per entry, nested mappings as dotted keys, `true` as a bare `--flag`,
 * `false` left out, a list as `--key a b c`. Every word is shell-quoted.
 */
export function commandArgs(value: Readonly<Record<string, unknown>>): string | { problem: string } {
  const words: string[] = [];
  const walk = (obj: Readonly<Record<string, unknown>>, prefix: string): string | undefined => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix + k;
      const flag = shellQuote(`--${key}`);
      if (isMapping(v)) {
        const problem = walk(v, `${key}.`);
        if (problem) return problem;
      } else if (typeof v === 'boolean') {
        if (v) words.push(flag);
      } else if (Array.isArray(v)) {
        const items = v.map(scalarText);
        if (items.some((t) => t === undefined)) return `'${key}' holds a nested list or mapping, or a null`;
        if (items.length) words.push(flag, ...items.map((t) => shellQuote(t!)));
      } else {
        const t = scalarText(v);
        if (t === undefined) return `'${key}' is null`;
        words.push(flag, shellQuote(t));
      }
    }
    return undefined;
  };
  const problem = walk(value, '');
  return problem ? { problem } : words.join(' ');
}

/** Interpolates every `${...}` in `text` into a string. `\${` stays a literal `${`. */
export function interpolateString(text: string, ctx: Context, quote: QuoteMode, track?: Track): { value: string; problems: InterpolationProblem[] } {
  const problems: InterpolationProblem[] = [];
  const seen = new Map<string, number>();
  const value = text.replace(TOKEN, (whole: string, escape: string, expr: string) => {
    if (escape) return whole.slice(1);
    const occurrence = seen.get(whole) ?? 0;
    seen.set(whole, occurrence + 1);
    const parts = parseExpression(expr);
    if (!parts) {
      problems.push({
        message: `invalid interpolation '${whole}'`,
        expr: whole,
        occurrence,
        notes: ['write ${name} or ${name.key[0]}; escape a literal with \\${'],
      });
      return whole;
    }
    const found = lookup(ctx, parts);
    if (!found.ok) {
      problems.push({ message: `${found.message} (in '${whole}')`, expr: whole, occurrence, notes: found.notes });
      return whole;
    }
    track?.(parts);
    if (quote === 'shell' && isMapping(found.value)) {
      const args = commandArgs(found.value);
      if (typeof args === 'string') return args;
      problems.push({
        message: `'${formatPath(parts)}' cannot be inserted into cmd: ${args.problem}`,
        expr: whole,
        occurrence,
        notes: ['a mapping becomes --key value arguments: values must be strings, numbers, booleans or lists of them'],
      });
      return whole;
    }
    const s = scalarText(found.value);
    if (s === undefined) {
      problems.push({
        message: `'${formatPath(parts)}' is ${describe(found.value)} and cannot be inserted into text`,
        expr: whole,
        occurrence,
        notes: ['only strings, numbers and booleans can be part of a string; name a key inside it'],
      });
      return whole;
    }
    return quote === 'shell' ? shellQuote(s) : s;
  });
  // A `${` that never closes would reach the shell as text; say so instead.
  const open = /(^|[^\\])\$\{(?![^}]*\})/.exec(text);
  if (open)
    problems.push({
      message: `unterminated '\${' in '${text}'`,
      expr: '${',
      occurrence: text.slice(0, open.index + open[1]!.length).split('${').length - 1,
      notes: ['close it with } or write \\${ for a literal ${'],
    });
  return { value, problems };
}

/** Like interpolateString, but a string that is exactly one `${x}` becomes x's value with its type. */
export function interpolateTyped(text: string, ctx: Context, track?: Track): { value: unknown; problems: InterpolationProblem[] } {
  const whole = /^\$\{([^}]*)\}$/.exec(text);
  if (whole) {
    const parts = parseExpression(whole[1]!);
    if (parts) {
      const found = lookup(ctx, parts);
      if (found.ok) {
        track?.(parts);
        return { value: structuredClone(found.value), problems: [] };
      }
      return { value: text, problems: [{ message: `${found.message} (in '${text}')`, expr: text, occurrence: 0, notes: found.notes }] };
    }
  }
  return interpolateString(text, ctx, 'none', track);
}

/** Walks a plain value, interpolating every string (typed). `at` reports each problem with its path. */
export function interpolateDeep(
  value: unknown,
  ctx: Context,
  report: (path: readonly (string | number)[], problem: InterpolationProblem) => void,
  path: readonly (string | number)[] = [],
  track?: Track,
): unknown {
  if (typeof value === 'string') {
    const r = interpolateTyped(value, ctx, track);
    for (const p of r.problems) report(path, p);
    return r.value;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateDeep(v, ctx, report, [...path, i], track));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateDeep(v, ctx, report, [...path, k], track);
    return out;
  }
  return value;
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** The closest name within a small edit distance, for "did you mean" notes. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
