// pipeline.lock's YAML form: writing it (deterministic: stages by name, deps/outs by path, params and maps by
// key, fixed field order), and reading it back with positioned errors. Kept apart from lock.ts so the `yaml`
// package loads only when a lock is written or its text is not in the parse cache (see src/parsed-cache.ts).
import { isMap, isScalar, LineCounter, parseDocument, stringify, type Document, type YAMLMap } from 'yaml';
import { configError, type Position } from '../diagnostics.js';
import { dict } from '../dict.js';
import { LOCK_SCHEMA_VERSION, type LockEntry, type LockFile, type LockedOut, type LockedPath } from './types.js';
import { outConflict, projectPath, reservedPaths, type ReservedPaths } from '../paths/policy.js';
import { LOCK_FILE } from '../project.js';
import { sortKeysDeep } from '../format/printer.js';

const ENTRY_ORDER = ['cmd', 'handler', 'with', 'wdir', 'executor', 'deps', 'params', 'outs', 'versions', 'stamp'];
const PATH_ORDER = ['path', 'sha256', 'size', 'nfiles', 'isexec', 'cache'];
const YAML_OPTIONS = { lineWidth: 0, minContentWidth: 0, indent: 2, aliasDuplicateObjects: false } as const;
/** Stage keys sit at this column (0-based) in a lock we wrote; slices of other layouts are not reused. */
const STAGE_INDENT = 2;

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function ordered(obj: object, order: readonly string[]): Record<string, unknown> {
  const rec = obj as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of order) if (rec[k] !== undefined) out[k] = rec[k];
  for (const k of Object.keys(rec).sort(byCodeUnits)) if (!order.includes(k) && rec[k] !== undefined) out[k] = sortKeysDeep(rec[k]);
  return out;
}

function normalizePaths(list: readonly (LockedPath | LockedOut)[]): Record<string, unknown>[] {
  return [...list].sort((a, b) => byCodeUnits(a.path, b.path)).map((p) => ordered(p, PATH_ORDER));
}

/** The canonical form of one entry: fixed field order, sorted lists and maps. */
export function normalizeEntry(entry: LockEntry): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const file of Object.keys(entry.params ?? {}).sort(byCodeUnits)) params[file] = sortKeysDeep(entry.params[file]);
  return ordered(
    {
      ...entry,
      with: entry.with === undefined ? undefined : sortKeysDeep(entry.with),
      deps: normalizePaths(entry.deps ?? []),
      params,
      outs: normalizePaths(entry.outs ?? []),
      versions: entry.versions === undefined ? undefined : sortKeysDeep(entry.versions),
    },
    ENTRY_ORDER,
  );
}

/** One stage's block as it appears under `stages:` (indented, newline-terminated). */
function stageBlock(name: string, entry: LockEntry): string {
  const text = stringify({ [name]: normalizeEntry(entry) }, YAML_OPTIONS);
  return text
    .split('\n')
    .map((line) => (line ? ' '.repeat(STAGE_INDENT) + line : line))
    .join('\n');
}

function assemble(blocks: readonly string[]): string {
  const head = stringify({ schema: LOCK_SCHEMA_VERSION }, YAML_OPTIONS);
  return blocks.length ? `${head}stages:\n${blocks.join('')}` : `${head}stages: {}\n`;
}

export function serializeLock(lock: LockFile): string {
  const names = Object.keys(lock.stages).sort(byCodeUnits);
  return assemble(names.map((n) => stageBlock(n, lock.stages[n]!)));
}

// ---- reading and validation ----

export interface Parsed {
  text: string;
  doc: Document.Parsed;
  lock: LockFile;
  lines: LineCounter;
}

function positionAt(lines: LineCounter, offset: number): Position {
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

export function parseLockText(text: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    throw configError(`invalid YAML in ${LOCK_FILE}: ${first.message.split('\n')[0]}`, {
      file: LOCK_FILE,
      start: positionAt(lines, first.pos[0]),
      notes: ['fix the file by hand, or delete it and run `rallycut repro` to rebuild it'],
    });
  }
  const fail = (path: readonly (string | number)[], message: string): never => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0] ?? (path.length ? ((doc.getIn(path.slice(0, -1), true) as { range?: number[] })?.range?.[0] ?? 0) : 0);
    throw configError(message, {
      file: LOCK_FILE,
      start: positionAt(lines, offset),
      subject: path.length > 1 && path[0] === 'stages' ? String(path[1]) : undefined,
      notes: ['fix the file by hand, or delete it and run `rallycut repro` to rebuild it'],
    });
  };
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // e.g. an alias to an anchor that is not there: the parser accepts it, converting it throws.
    return fail([], `invalid YAML in ${LOCK_FILE}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) return { text, doc, lines, lock: { schema: LOCK_SCHEMA_VERSION, stages: dict() } };
  if (!isRecord(data)) return fail([], 'expected a map with `schema` and `stages`');
  const schema = data.schema;
  if (typeof schema !== 'string' && typeof schema !== 'number') return fail(['schema'], 'missing `schema` version');
  const major = String(schema).split('.')[0];
  if (major !== LOCK_SCHEMA_VERSION.split('.')[0]) {
    return fail(['schema'], `schema ${String(schema)} is not supported (this rallycut writes ${LOCK_SCHEMA_VERSION})`);
  }
  const stagesRaw = data.stages ?? {};
  if (!isRecord(stagesRaw)) return fail(['stages'], '`stages` must be a map of stage name to entry');
  const stages = dict<LockEntry>();
  for (const [name, raw] of Object.entries(stagesRaw)) stages[name] = checkEntry(raw, ['stages', name], fail);
  return { text, doc, lines, lock: { schema: String(schema), stages } };
}

type Fail = (path: readonly (string | number)[], message: string) => never;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkEntry(raw: unknown, at: (string | number)[], fail: Fail): LockEntry {
  if (!isRecord(raw)) return fail(at, 'a stage entry must be a map');
  const entry = { ...raw } as Record<string, unknown>;
  if (entry.cmd !== undefined && (!Array.isArray(entry.cmd) || !entry.cmd.every((c) => typeof c === 'string'))) {
    fail([...at, 'cmd'], '`cmd` must be a list of strings');
  }
  for (const key of ['handler', 'wdir', 'executor', 'stamp']) {
    if (entry[key] !== undefined && typeof entry[key] !== 'string') fail([...at, key], `\`${key}\` must be a string`);
  }
  if (entry.with !== undefined && !isRecord(entry.with)) fail([...at, 'with'], '`with` must be a map');
  if (entry.versions !== undefined && (!isRecord(entry.versions) || !Object.values(entry.versions).every((v) => typeof v === 'string'))) {
    fail([...at, 'versions'], '`versions` must map tool names to version strings');
  }
  const params = entry.params ?? {};
  if (!isRecord(params) || !Object.values(params).every(isRecord)) fail([...at, 'params'], '`params` must map a params file to its key/value map');
  entry.params = params;
  const reserved = reservedPaths({ paramsFiles: Object.keys(params as Record<string, unknown>) });
  for (const list of ['deps', 'outs'] as const) {
    const v = entry[list] ?? [];
    if (!Array.isArray(v)) fail([...at, list], `\`${list}\` must be a list`);
    (v as unknown[]).forEach((p, i) => checkPath(p, [...at, list, i], fail));
    // checkout, pull and repro restore outs from these entries: none may replace the project's own files.
    if (list === 'outs') (v as LockedPath[]).forEach((p, i) => checkOutPath(p.path, reserved, [...at, list, i, 'path'], fail));
    entry[list] = v;
  }
  return entry as unknown as LockEntry;
}

function checkPath(raw: unknown, at: (string | number)[], fail: Fail): void {
  if (!isRecord(raw)) fail(at, 'expected a map with path, sha256 and size');
  const p = raw as Record<string, unknown>;
  if (typeof p.path !== 'string' || !p.path) fail([...at, 'path'], '`path` must be a non-empty string');
  // checkout writes to these paths: a hand-edited lock must not point outside the project.
  const normal = projectPath(String(p.path));
  if (!normal.ok || String(p.path).split(/[\\/]/).includes('..')) {
    fail([...at, 'path'], `\`path\` '${String(p.path)}' must stay inside the project (relative, without '..')`);
  }
  if (normal.path !== p.path) fail([...at, 'path'], `\`path\` '${String(p.path)}' is not in normal form (write '${normal.path}')`);
  if (typeof p.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p.sha256)) fail([...at, 'sha256'], '`sha256` must be 64 lowercase hex digits');
  if (typeof p.size !== 'number' || !Number.isInteger(p.size) || p.size < 0) fail([...at, 'size'], '`size` must be a non-negative integer');
  if (p.nfiles !== undefined && (typeof p.nfiles !== 'number' || !Number.isInteger(p.nfiles) || p.nfiles < 0)) {
    fail([...at, 'nfiles'], '`nfiles` must be a non-negative integer');
  }
  if (p.cache !== undefined && p.cache !== false) fail([...at, 'cache'], '`cache` may only be false');
  if (p.isexec !== undefined && p.isexec !== true) fail([...at, 'isexec'], '`isexec` may only be true');
}

function checkOutPath(path: string, reserved: ReservedPaths, at: (string | number)[], fail: Fail): void {
  const conflict = outConflict(path, reserved);
  if (conflict) fail(at, `out \`path\` '${path}' ${conflict}; checkout would replace it`);
}

/** Parses lock text; throws a positioned config error when broken. */
export function parseLock(text: string): LockFile {
  return parseLockText(text).lock;
}

/** The original text of each stage, when the file has the layout we write (so slices can be reused). */
function stageSlices(p: Parsed): Map<string, string> | undefined {
  const top = p.doc.contents;
  if (!isMap(top)) return undefined;
  const keys = top.items.map((i) => (isScalar(i.key) ? String(i.key.value) : ''));
  if (keys.join(',') !== 'schema,stages' || String(p.lock.schema) !== LOCK_SCHEMA_VERSION) return undefined;
  const stages = top.items[1]!.value;
  if (!isMap(stages) || (stages as YAMLMap).flow) return undefined;
  const starts: { name: string; offset: number }[] = [];
  for (const item of stages.items) {
    if (!isScalar(item.key) || !item.key.range) return undefined;
    const offset = item.key.range[0];
    const lineStart = p.text.lastIndexOf('\n', offset - 1) + 1;
    if (offset - lineStart !== STAGE_INDENT) return undefined;
    starts.push({ name: String(item.key.value), offset: lineStart });
  }
  const slices = new Map<string, string>();
  starts.forEach((s, i) => {
    const end = starts[i + 1]?.offset ?? p.text.length;
    let slice = p.text.slice(s.offset, end);
    if (!slice.endsWith('\n')) slice += '\n';
    slices.set(s.name, slice);
  });
  return slices;
}

/**
 * The lock's next text: `changes` (stage → new entry, or null to remove) applied to `text` (undefined: no
 * file yet). Stages not named keep their exact bytes when the file has the layout we write.
 */
export function nextLockText(text: string | undefined, changes: Readonly<Record<string, LockEntry | null>>): string {
  const parsed = text === undefined ? undefined : parseLockText(text);
  const stages = dict(parsed?.lock.stages ?? {});
  for (const [name, entry] of Object.entries(changes)) {
    if (entry === null) delete stages[name];
    else stages[name] = entry;
  }
  const slices = parsed ? stageSlices(parsed) : undefined;
  const blocks = Object.keys(stages)
    .sort(byCodeUnits)
    .map((name) => (!Object.hasOwn(changes, name) && slices?.get(name)) || stageBlock(name, stages[name]!));
  return assemble(blocks);
}
