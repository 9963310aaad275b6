// A parsed YAML file that remembers where every node came from, so any problem found later (schema,
// interpolation, graph) can point at file:line:col with a code frame.
import { isAlias, isCollection, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { Diagnostic, Position } from '../diagnostics.js';
import type { SourceRange } from './types.js';

export type YamlPath = readonly (string | number)[];

export class YamlSource {
  private constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** Parses `text`; syntax errors come back as positioned diagnostics (the source is still usable for ranges). */
  /** The document as plain data; a bad merge key (`<<: 3`) becomes a positioned diagnostic. */
  toJS(): { value: unknown } | { error: Diagnostic } {
    try {
      return { value: this.doc.toJS() };
    } catch (err) {
      let range: SourceRange = this.range([]);
      visit(this.doc, {
        Pair: (_key, pair) => {
          if (isScalar(pair.key) && (pair.key.value === '<<' || pair.key.source === '<<') && !isMap(pair.value) && !isAlias(pair.value) && !isSeq(pair.value)) {
            const node = pair.value as Node | null;
            if (node?.range) range = this.spanOf(node.range[0], node.range[1]);
            return visit.BREAK;
          }
          return undefined;
        },
      });
      return { error: { kind: 'config', message: `invalid YAML: ${(err as Error).message}`, file: range.file, start: range.start, end: range.end } };
    }
  }

  static parse(file: string, text: string, opts: { interpolation?: boolean } = {}): { source: YamlSource; diagnostics: Diagnostic[] } {
    const lines = new LineCounter();
    const input = opts.interpolation ? protect(text) : text;
    const doc = parseDocument(input, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
    if (opts.interpolation) {
      visit(doc, {
        Scalar(_key, node) {
          if (typeof node.value === 'string') node.value = unprotect(node.value);
        },
      });
    }
    const source = new YamlSource(file, text, doc, lines);
    // Only the first syntax error: the ones after it are almost always its echoes.
    const diagnostics = doc.errors.slice(0, 1).map((e): Diagnostic => {
      const [from, to] = e.pos;
      const more = doc.errors.length - 1;
      return {
        kind: 'config',
        message: `YAML syntax error: ${firstLine(e.message)}`,
        ...source.spanOf(from, Math.max(to, from + 1)),
        notes: more > 0 ? [`${more} more syntax error(s) may follow from this one`] : [],
      };
    });
    return { source, diagnostics };
  }

  position(offset: number): Position {
    const { line, col } = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { line, column: col };
  }

  spanOf(from: number, to: number): SourceRange {
    return { file: this.file, start: this.position(from), end: this.position(to) };
  }

  /** The node at `path`, or undefined. Numeric segments index sequences. */
  node(path: YamlPath): Node | undefined {
    let cur: unknown = this.doc.contents;
    for (const seg of path) {
      if (isMap(cur)) {
        const pair = cur.items.find((p) => keyText(p.key) === String(seg));
        cur = pair?.value;
      } else if (isSeq(cur) && typeof seg === 'number') {
        cur = cur.items[seg];
      } else {
        return undefined;
      }
    }
    return isPair(cur) ? undefined : ((cur as Node | undefined) ?? undefined);
  }

  /** The key node of the last segment of `path` (a map key), or undefined. */
  keyNode(path: YamlPath): Node | undefined {
    if (path.length === 0) return undefined;
    const parent = this.node(path.slice(0, -1));
    if (!isMap(parent)) return undefined;
    const last = String(path[path.length - 1]);
    const pair = parent.items.find((p) => keyText(p.key) === last);
    return pair && isScalar(pair.key) ? pair.key : undefined;
  }

  /**
   * Where to point for `path`. Scalars point at the value; collections at their key (one line rather than
   * a whole block); a path that does not exist points at its nearest existing ancestor.
   */
  range(path: YamlPath, which: 'value' | 'key' = 'value'): SourceRange {
    for (let n = path.length; n >= 0; n--) {
      const p = path.slice(0, n);
      const value = this.node(p);
      const key = this.keyNode(p);
      const exact = n === path.length;
      const preferKey = (exact && which === 'key') || !exact || (value !== undefined && isCollection(value)) || value === undefined;
      const chosen = preferKey && key ? key : value;
      if (chosen?.range) {
        if (isCollection(chosen)) return this.spanOf(chosen.range[0], chosen.range[0] + 1);
        return this.spanOf(chosen.range[0], chosen.range[1]);
      }
    }
    return { file: this.file, start: { line: 1, column: 1 }, end: { line: 1, column: 2 } };
  }

  /** The range of `needle` inside the scalar at `path` (its `occurrence`-th match), else the scalar's range. */
  rangeWithin(path: YamlPath, needle: string, occurrence = 0, which: 'value' | 'key' = 'value'): SourceRange {
    const value = which === 'key' ? this.keyNode(path) : this.node(path);
    if (value?.range && isScalar(value)) {
      const [from, to] = value.range;
      const slice = this.text.slice(from, to);
      let idx = -1;
      for (let i = 0, start = 0; i <= occurrence; i++) {
        idx = slice.indexOf(needle, start);
        if (idx < 0) break;
        start = idx + 1;
      }
      if (idx >= 0) return this.spanOf(from + idx, from + idx + needle.length);
    }
    return this.range(path, which);
  }
}

// `{` and `}` are flow indicators, so `deps: [data/${x}]` would not parse as YAML. Before parsing, the
// braces of each `${...}` become private-use characters of the same length (positions stay exact), and
// are put back in every scalar afterwards.
const OPEN = '\uE000';
const CLOSE = '\uE001';

function protect(text: string): string {
  return text.replace(/\$\{([^{}\n]*)\}/g, (_m, inner: string) => `$${OPEN}${inner}${CLOSE}`);
}

function unprotect(value: string): string {
  return value.includes(OPEN) ? value.replace(/\$\uE000([^\uE001\n]*)\uE001/g, (_m, inner: string) => `\${${inner}}`) : value;
}

export function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** A config diagnostic at a range. */
export function configAt(range: SourceRange, message: string, extra: Omit<Diagnostic, 'kind' | 'message' | 'file' | 'start' | 'end'> = {}): Diagnostic {
  return { kind: 'config', message, file: range.file, start: range.start, end: range.end, ...extra };
}
