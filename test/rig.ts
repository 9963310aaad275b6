// Test rig for the engine (after wireit's test-rig idea, own design): a throwaway project folder, files
// written into it, the CLI run against it, and stage invocations counted through a shared log.
//
// How the CLI runs:
// - run(): in-process `main(argv, io)` with the rig's cwd and env. Fast (no node start, no tsx compile per
//   call), and cmd stages still run as real /bin/sh children, so parallelism is real.
// - spawn(): a real `node bin/rallycut` process, for what needs separate processes (two concurrent repros,
//   the project lock's pid). It runs the built dist/ when every source file has an up-to-date .js there
//   (`npm test` builds first), else the sources through tsx (RALLYCUT_FROM_SOURCE=1), so a stale dist/
//   is never tested by mistake. tsx costs seconds of start-up per call: tests spawn sparingly.
//
// Counting invocations: every rig stage command starts with `echo NAME >> "$RIG_LOG"` (see stageCmd), so
// invocations() tells exactly which stages really ran, in order, across processes.
import { spawn as spawnChild } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

let distFresh: boolean | undefined;

/** True when dist/ holds a .js at least as new as every non-test .ts under src/ and stages/. */
export function distIsFresh(): boolean {
  if (distFresh !== undefined) return distFresh;
  const stale = (dir: string): boolean => {
    for (const d of readdirSync(join(REPO, dir), { withFileTypes: true })) {
      const rel = `${dir}/${d.name}`;
      if (d.isDirectory()) {
        if (stale(rel)) return true;
      } else if (d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') && !d.name.endsWith('.d.ts')) {
        const built = join(REPO, 'dist', rel.replace(/\.ts$/, '.js'));
        if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(REPO, rel)).mtimeMs) return true;
      }
    }
    return false;
  };
  distFresh = !stale('src') && !stale('stages');
  return distFresh;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Rig {
  readonly dir: string;
  readonly logFile: string;

  constructor(prefix = 'rallycut-rig-') {
    this.dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    this.logFile = join(this.dir, 'invocations.log');
  }

  /** Environment for every run: silent progress, the invocation log, no cache-dir override unless `extra` sets one. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, RALLYCUT_PROGRESS: '0', RIG_LOG: this.logFile };
    delete env.RALLYCUT_CACHE_DIR;
    return { ...env, ...extra };
  }

  /** A stage command that records its invocation, then does `body`. */
  static stageCmd(name: string, body: string): string {
    return `echo ${name} >> "$RIG_LOG" && ${body}`;
  }

  async write(files: Record<string, string>): Promise<void> {
    for (const [rel, text] of Object.entries(files)) {
      const abs = join(this.dir, rel);
      await fs.mkdir(dirname(abs), { recursive: true });
      await fs.writeFile(abs, text);
    }
  }

  read(rel: string): string {
    return readFileSync(join(this.dir, rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(join(this.dir, rel));
  }

  async remove(rel: string): Promise<void> {
    await fs.rm(join(this.dir, rel), { recursive: true, force: true });
  }

  /** Stage names logged since the last call (and clears the log). */
  async invocations(): Promise<string[]> {
    let text = '';
    try {
      text = await fs.readFile(this.logFile, 'utf8');
    } catch {
      return [];
    }
    await fs.rm(this.logFile, { force: true });
    return text.split('\n').filter(Boolean);
  }

  /** The CLI in-process (from `cwd`, the project root unless given; `columns`: stdout is a terminal that wide). */
  async run(args: readonly string[], extraEnv: Record<string, string> = {}, cwd = this.dir, tty: { columns?: number } = {}): Promise<RunResult> {
    let stdout = '';
    let stderr = '';
    const code = await main(args, {
      cwd,
      env: this.env(extraEnv),
      out: (t) => void (stdout += t),
      err: (t) => void (stderr += t),
      isTTY: tty.columns !== undefined,
      columns: tty.columns,
      signal: new AbortController().signal,
    });
    return { code, stdout, stderr };
  }

  /** The CLI as its own `node bin/rallycut` process (dist/ when fresh, else the sources via tsx). */
  spawn(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<RunResult> {
    return new Promise((resolvePromise, reject) => {
      const child = spawnChild(process.execPath, [join(REPO, 'bin', 'rallycut'), ...args], {
        cwd: this.dir,
        env: this.env({ ...(distIsFresh() ? {} : { RALLYCUT_FROM_SOURCE: '1' }), ...extraEnv }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
    });
  }

  async cleanup(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
