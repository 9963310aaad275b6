// One ffmpeg run that can be stopped: prepare starts the encoder before the source's hash and ffprobe
// have confirmed its arguments, so a run must be killable and its end awaitable before its output is
// removed or rewritten.
import { spawn } from 'node:child_process';
import { failure, lineSplitter } from '../../src/handler.js';

export interface EncodeJob {
  /** Frames written (from -progress); rejects with ffmpeg's last stderr lines on failure. */
  readonly done: Promise<number>;
  /** Kills the run if it is still going and waits until the process is gone. Never rejects. */
  stop(): Promise<void>;
}

/** Starts ffmpeg with -progress on stdout, reporting encoded seconds as they come. */
export function startEncode(ffmpeg: string, args: readonly string[], subject: string, onSeconds: (s: number) => void, signal?: AbortSignal): EncodeJob {
  const child = spawn(ffmpeg, ['-progress', 'pipe:1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stopped = false;
  const kill = (): void => {
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  if (signal?.aborted) kill();
  else signal?.addEventListener('abort', kill, { once: true });
  const done = new Promise<number>((resolve, reject) => {
    let frames = 0;
    let err = '';
    const progress = lineSplitter((line) => {
      const m = /^out_time_us=(\d+)/.exec(line);
      if (m) onSeconds(Number(m[1]) / 1e6);
      const f = /^frame=(\d+)/.exec(line);
      if (f) frames = Number(f[1]);
    });
    child.stdout.on('data', (b: Buffer) => progress.push(b));
    child.stdout.on('end', () => progress.end());
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-8000);
    });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', kill);
      if (code === 0) resolve(frames);
      else if (stopped) reject(failure(`${subject}: ffmpeg was stopped${signal?.aborted ? ' (interrupted)' : ''}`, { subject }));
      else
        reject(
          failure(`${subject}: ffmpeg could not make the proxy (${sig ?? `exit ${code}`}): ${err.trim().split('\n').slice(-3).join(' | ') || 'no message'}`, {
            subject,
          }),
        );
    });
  });
  const settled = done.then(
    () => undefined,
    () => undefined,
  ); // also marks `done` as handled: a run stopped before anyone awaited it is not an unhandled rejection
  return {
    done,
    async stop() {
      kill();
      await settled;
    },
  };
}
