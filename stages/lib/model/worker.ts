// Runs an onnxruntime session in a worker thread. onnxruntime-node's session.run blocks the JS thread it
// is called on, so inference on the main thread would stall the ffmpeg pipe; in a worker, decoding and
// normalising the next batch overlap with inference of the current one. The worker is plain JavaScript
// evaluated from a string, so it runs the same under tsx, vitest and the compiled CLI.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { failure } from '../../../src/handler.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'load') {
      session = await ort.InferenceSession.create(new Uint8Array(msg.model), msg.options);
      parentPort.postMessage({ id: msg.id, ok: true });
      return;
    }
    if (msg.type === 'release') {
      if (session) await session.release();
      parentPort.postMessage({ id: msg.id, ok: true });
      return;
    }
    const data = new Float32Array(msg.buffer, 0, msg.length);
    const result = await session.run({ [msg.input]: new ort.Tensor('float32', data, msg.shape) }, msg.outputs);
    const outs = msg.outputs.map((name) => {
      const d = result[name] && result[name].data;
      return d instanceof Float32Array ? new Float32Array(d) : null;
    });
    parentPort.postMessage({ id: msg.id, ok: true, outs, buffer: msg.buffer }, [msg.buffer, ...outs.filter(Boolean).map((o) => o.buffer)]);
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String((err && err.message) || err), buffer: msg.buffer }, msg.buffer ? [msg.buffer] : []);
  }
});
`;

interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  outs?: (Float32Array | null)[];
  buffer?: ArrayBuffer;
}

export interface WorkerRunResult {
  outputs: (Float32Array | null)[];
  /** The input buffer, handed back so the caller can refill it. */
  buffer: ArrayBuffer;
}

/** One onnxruntime session in its own thread; calls are queued in order. */
export class SessionWorker {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  private dead: Error | null = null;

  private constructor() {
    const require = createRequire(import.meta.url);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: require.resolve('onnxruntime-node') } });
    this.worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      if (this.pending.size === 0) this.worker.unref();
      p?.resolve(r);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`inference worker exited with code ${code}`)));
    this.worker.unref();
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref(); // keep the process alive while a call is pending; idle workers never hold it open
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  static async start(model: Uint8Array, options: Record<string, unknown>): Promise<SessionWorker> {
    const w = new SessionWorker();
    const copy = model.slice();
    const r = await w.call({ type: 'load', model: copy.buffer, options }, [copy.buffer]);
    if (!r.ok) {
      await w.worker.terminate();
      throw failure(`inference worker could not load the model: ${r.error}`);
    }
    return w;
  }

  /** Runs one batch; `buffer` is transferred to the worker and comes back in the result. */
  async run(input: string, buffer: ArrayBuffer, length: number, shape: number[], outputs: string[]): Promise<WorkerRunResult> {
    const r = await this.call({ type: 'run', input, buffer, length, shape, outputs }, [buffer]);
    if (!r.ok || !r.outs || !r.buffer) throw failure(`inference failed: ${r.error ?? 'no result'}`);
    return { outputs: r.outs, buffer: r.buffer };
  }

  async close(): Promise<void> {
    if (!this.dead) await this.call({ type: 'release' }).catch(() => undefined);
    this.dead ??= new Error('inference worker closed');
    await this.worker.terminate();
  }
}
