// Errors are values: a Diagnostic says what went wrong and where. Only the CLI turns them into exit codes.

export interface Position {
  line: number; // 1-based
  column: number; // 1-based
}

export interface Diagnostic {
  /** 'config' problems (bad pipeline.yaml, params, flags) exit 2; 'failure' (a stage or I/O failed) exit 1. */
  kind: 'config' | 'failure';
  message: string;
  /** Path relative to the project root (or absolute when outside it). */
  file?: string;
  start?: Position;
  end?: Position;
  /** The stage, video, key or item the problem is about, when there is one. */
  subject?: string;
  /** Extra lines printed under the message (hints, a cycle path, a list of attempts). */
  notes?: string[];
  /** A warning is printed but never thrown: the command goes on. */
  severity?: 'warning';
}

/** Carries diagnostics through code that is not diagnostic-aware (handlers, libraries). */
export class RallycutError extends Error {
  readonly diagnostics: Diagnostic[];
  /** The command already printed its --json document (with these errors in it): the CLI prints no other. */
  jsonPrinted = false;
  constructor(diagnostics: Diagnostic | Diagnostic[]) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map((d) => d.message).join('\n'));
    this.name = 'RallycutError';
    this.diagnostics = list;
  }
}

/** Marks err as already reported in the command's --json output (see RallycutError.jsonPrinted). */
export function printedAsJson(err: RallycutError): RallycutError {
  err.jsonPrinted = true;
  return err;
}

export function configError(message: string, extra: Omit<Diagnostic, 'kind' | 'message'> = {}): RallycutError {
  return new RallycutError({ kind: 'config', message, ...extra });
}

export function failure(message: string, extra: Omit<Diagnostic, 'kind' | 'message'> = {}): RallycutError {
  return new RallycutError({ kind: 'failure', message, ...extra });
}

/** Normalises anything thrown into diagnostics; unknown errors become failures with their message. */
export function toDiagnostics(err: unknown): Diagnostic[] {
  if (err instanceof RallycutError) return err.diagnostics;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const path = (err as NodeJS.ErrnoException).path;
    return [{ kind: 'failure', message: err.message, ...(path ? { file: path } : {}), ...(code ? { notes: [`code: ${code}`] } : {}) }];
  }
  return [{ kind: 'failure', message: String(err) }];
}

export function exitCodeFor(diagnostics: readonly Diagnostic[]): number {
  if (diagnostics.length === 0) return 0;
  return diagnostics.some((d) => d.kind === 'config') ? 2 : 1;
}

/** Drops repeats of the same message at the same place (several checks may find one problem). */
export function dedupe(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const key = `${d.file}:${d.start?.line}:${d.start?.column}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Diagnostics by file, line and column; equal positions keep their order. */
export function sortByPosition(list: readonly Diagnostic[]): Diagnostic[] {
  return list
    .map((d, i) => ({ d, i }))
    .sort(
      (a, b) =>
        (a.d.file ?? '').localeCompare(b.d.file ?? '') ||
        (a.d.start?.line ?? 0) - (b.d.start?.line ?? 0) ||
        (a.d.start?.column ?? 0) - (b.d.start?.column ?? 0) ||
        a.i - b.i,
    )
    .map((x) => x.d);
}
