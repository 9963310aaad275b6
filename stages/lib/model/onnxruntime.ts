// Loading onnxruntime-node. Its npm package ships the CPU build for the common platforms, so
// `onnxruntime-node-install=skip` (.npmrc: no GPU download at install) still runs every model here; a
// platform without a shipped build, or a damaged install, is a clear error instead of a bare module error.
import { createRequire } from 'node:module';
import type * as ort from 'onnxruntime-node';
import { failure } from '../../../src/handler.js';

export type OnnxRuntime = typeof ort;

/** The module (loaded only when a model runs); `specifier` exists so a test can name a broken install. */
export async function importOnnxRuntime(specifier = 'onnxruntime-node'): Promise<OnnxRuntime> {
  try {
    return (await import(specifier)) as OnnxRuntime;
  } catch (err) {
    throw failure(`onnxruntime-node cannot be loaded on ${process.platform}-${process.arch}: ${(err as Error).message.split('\n')[0]}`, {
      subject: 'onnxruntime-node',
      notes: ['reinstall the dependencies (npm ci); its CPU build ships in the package for linux/macOS/windows on x64 and arm64'],
    });
  }
}

export function onnxruntimeVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}
