// Where inference runs: onnxruntime-node's CPU execution provider (bundled in its npm package) or its CUDA
// one. The device is a property of the machine, not of the results: it is NOT part of the feature store's
// key (content hash, stride, model sha256) nor of any stage fingerprint, so features computed on a GPU (e.g.
// in a Modal job) are found cached by a later CPU run, and the other way round. GPU and CPU kernels sum in a
// different order, so their float32 outputs differ in the last bits (relative ~1e-6, more under TF32 on
// Ampere+); those differences are far below what changes a window's class or a segment, so a cached entry
// from either device is accepted as the entry for that key (see the README, "Inference on a GPU").
//
// onnxruntime-node 1.x on linux-x64 ships the CPU provider only; the CUDA provider libraries (CUDA 12 +
// cuDNN 9 on the machine) are installed into the package with `npm rebuild onnxruntime-node
// --onnxruntime-node-install=cuda12` (this repository's .npmrc skips that at install). Asking for 'cuda'
// without them is a named failure before any video is decoded; 'auto' uses CUDA when its libraries are
// there and load, else the CPU, and says which.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { configError, failure } from '../../../src/handler.js';

export type DeviceChoice = 'cpu' | 'cuda' | 'auto';
export type Device = 'cpu' | 'cuda';

/** Read by the extract-features handler (a stage's `with:` would enter its fingerprint; the device must not). */
export const DEVICE_ENV = 'RALLYCUT_INFERENCE_DEVICE';
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['cpu', 'cuda', 'auto'];

/** The library onnxruntime-node loads for `executionProviders: ['cuda']`. */
export const CUDA_PROVIDER_LIB = 'libonnxruntime_providers_cuda.so';

export function parseDevice(raw: string | undefined, subject: string): DeviceChoice {
  if (raw === undefined || raw === '') return 'cpu';
  const v = raw.trim().toLowerCase();
  if ((DEVICE_CHOICES as readonly string[]).includes(v)) return v as DeviceChoice;
  throw configError(`${subject} must be one of ${DEVICE_CHOICES.join(', ')}, got '${raw}'`, { subject });
}

/** onnxruntime-node's native folder for this platform (where the provider libraries must lie). */
export function ortBinDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/** Whether the CUDA provider's library is installed beside onnxruntime-node's binding (linux only). */
export function cudaProviderInstalled(binDir = ortBinDir()): boolean {
  return process.platform === 'linux' && existsSync(join(binDir, CUDA_PROVIDER_LIB));
}

const INSTALL_NOTE =
  'install the CUDA provider into onnxruntime-node (CUDA 12 and cuDNN 9 must be on the machine): npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12';

export function cudaUnavailable(detail: string): Error {
  return failure(`inference device 'cuda' was asked for, but onnxruntime-node's CUDA execution provider is unavailable: ${detail}`, {
    subject: 'device',
    notes: [INSTALL_NOTE, `or run on the CPU: unset ${DEVICE_ENV} (or set it to cpu or auto), or pass --device cpu|auto`],
  });
}

/** Session options for a device: CPU keeps onnxruntime's defaults untouched (no executionProviders key). */
export function providerOptions(device: Device): { executionProviders?: string[] } {
  return device === 'cuda' ? { executionProviders: ['cuda', 'cpu'] } : {};
}

/**
 * The devices to try in order for a choice: cuda → [cuda] (its absence is an error), auto → [cuda, cpu]
 * when the provider is installed, else [cpu]. Throws the named error for 'cuda' without the library, so
 * the native loader (which prints to stderr) is never asked for a library that is not there.
 */
export function devicesToTry(choice: DeviceChoice, installed = cudaProviderInstalled()): Device[] {
  if (choice === 'cpu') return ['cpu'];
  if (choice === 'cuda') {
    if (!installed) throw cudaUnavailable(`${CUDA_PROVIDER_LIB} is not installed in ${ortBinDir()}`);
    return ['cuda'];
  }
  return installed ? ['cuda', 'cpu'] : ['cpu'];
}
