// Whether the daemon may answer a command line, and with what: the command is planned exactly as the CLI
// plans it (same option parsing, same engine call, same printed bytes), and answered only when it is a true
// no-op over inputs the daemon watches. The rest of the daemon (server.ts) decides when a verdict is fresh.
import { join } from 'node:path';
import { toDiagnostics } from '../diagnostics.js';
import { parsePlanCommandLine } from '../exec/command-line.js';
import { reproOutput, statusOutput } from '../exec/plan-output.js';
import { dryResult, measurePlan, noopResult, unchangedLine, type MeasuredPlan, type ReproIO } from '../exec/reproduce.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { PIPELINE_FILE } from '../project.js';
import type { Answer, CommandRequest } from './protocol.js';
import type { WatchSet } from './watchset.js';

export interface Verdict {
  readonly answer?: Answer;
  /** Stages with tool versions or a stamp, re-asked before each answer (nothing watched shows their changes). */
  readonly externals?: ReadonlyMap<string, () => Promise<boolean>>;
  /** Why there is no answer. */
  readonly reason?: string;
}

export interface VerdictContext {
  readonly root: string;
  readonly registry: HandlerRegistry;
  readonly env: NodeJS.ProcessEnv;
  readonly watchset: WatchSet;
}

/** Plans the command like the CLI would and, for a no-op over watched inputs only, what it prints. Never throws. */
export async function verdictFor(req: CommandRequest, ctx: VerdictContext): Promise<Verdict> {
  try {
    return await plannedVerdict(req, ctx);
  } catch (err) {
    return { reason: `the check failed: ${toDiagnostics(err)[0]?.message ?? String(err)}` };
  }
}

async function plannedVerdict(req: CommandRequest, ctx: VerdictContext): Promise<Verdict> {
  const line = parsePlanCommandLine(req.argv);
  if (!line) return { reason: `'${req.argv[0] ?? ''}' is not answered` };
  if (line.command === 'repro' && (line.options.force || line.watch)) return { reason: 'forced and watch runs are not answered' };
  let printed = '';
  const io: ReproIO = { env: ctx.env, err: (t) => void (printed += t), signal: new AbortController().signal };
  const measured = await measurePlan(ctx.root, ctx.registry, line.options, io);
  if (printed) return { reason: 'the check printed messages' };
  const unwatched = unwatchedInput(measured, ctx);
  if (unwatched) return { reason: unwatched };
  const noop = noopResult(measured.items);
  if (!noop) return { reason: 'not a no-op' };
  const externals = measured.externalChecks.size ? { externals: measured.externalChecks } : {};
  if (line.command === 'status') return { answer: { stdout: statusOutput(measured.items, line.json), stderr: '', code: 0 }, ...externals };
  if (line.options.dry) return { answer: { stdout: reproOutput(dryResult(measured.items), line.json), stderr: '', code: 0 }, ...externals };
  const stderr = measured.items.map((i) => unchangedLine(i.stage, i.decision === 'frozen' ? 'frozen' : 'skip')).join('');
  return { answer: { stdout: reproOutput(noop, line.json), stderr, code: 0 }, ...externals };
}

/** The first stage whose tool versions or stamp are no longer as the verdict measured them (a throw counts). */
export async function changedExternally(externals: ReadonlyMap<string, () => Promise<boolean>>): Promise<string | undefined> {
  const results = await Promise.all([...externals].map(async ([stage, check]) => ((await check().catch(() => false)) ? undefined : stage)));
  return results.find((s) => s !== undefined);
}

function unwatchedInput({ items, states, externalChecks, pipelineReads }: MeasuredPlan, ctx: VerdictContext): string | undefined {
  // A vars file changes the stages' text: the same rules as for a dep (a watched folder, no symlink).
  for (const path of [PIPELINE_FILE, ...pipelineReads]) {
    const problem = unwatchedPath(path, ctx);
    if (problem) return problem;
  }
  for (const item of items) {
    const state = states.get(item.stage);
    if (!state) return `stage '${item.stage}' could not be measured`;
    const external = state.fingerprint.hasStamp || state.fingerprint.entry.versions !== undefined;
    if (external && !externalChecks.has(item.stage)) return `stage '${item.stage}' depends on external state it cannot re-check`;
    for (const path of [...state.stage.deps, ...state.stage.outs.map((o) => o.path), ...state.stage.params.map((p) => p.file)]) {
      const problem = unwatchedPath(path, ctx);
      if (problem) return problem;
    }
  }
  return undefined;
}

function unwatchedPath(path: string, { root, watchset }: VerdictContext): string | undefined {
  if (!watchset.covers(join(root, path))) return `'${path}' is in a folder the daemon does not watch`;
  if (watchset.symlinks.some((s) => s === path || s.startsWith(path + '/') || path.startsWith(s + '/'))) return `'${path}' holds a symlink`;
  return undefined;
}
