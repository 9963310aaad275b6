// The contract for CLI commands. Engine commands live in src/cli/commands/, domain commands in stages/.
import type { OptionSpec, ParsedArgs, PositionalSpec } from '../args.js';

export interface CommandIO {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Writes to stdout (results, tables, JSON). */
  out(text: string): void;
  /** Writes to stderr (logs, progress, diagnostics). */
  err(text: string): void;
  /** stdout is a terminal. */
  isTTY: boolean;
  /** The terminal's width when stdout is one (tables fit it); undefined otherwise. */
  columns?: number | undefined;
  /** stderr is a terminal (progress redraws in place), and its width. */
  errTTY?: boolean | undefined;
  errColumns?: number | undefined;
  signal: AbortSignal;
}

export interface CommandSpec {
  /** e.g. ['repro'] or ['train', 'export-dataset'] */
  path: readonly string[];
  summary: string;
  description?: string;
  positionals?: readonly PositionalSpec[];
  options: readonly OptionSpec[];
  /** Throws RallycutError on failure; the CLI prints it and picks the exit code. */
  run(args: ParsedArgs, io: CommandIO): Promise<void>;
}
