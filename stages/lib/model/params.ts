// Model and feature settings from params (params/default.yaml, or the values a pipeline stage tracks),
// so experiments can override `model.variant`, `model.weights_dir`, `features.stride`, `features.batch`.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ParamValues } from '../../../src/handler.js';
import { DEFAULT_VARIANT, DEFAULT_WEIGHTS_DIR } from './registry.js';
import { BASE_STRIDE } from '../features/windows.js';

export interface ModelSettings {
  variant: string;
  weightsDir: string;
  stride: number;
  batch: number;
}

export const DEFAULT_MODEL_SETTINGS: ModelSettings = { variant: DEFAULT_VARIANT, weightsDir: DEFAULT_WEIGHTS_DIR, stride: BASE_STRIDE, batch: 8 };

function dig(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const k of path) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Looks a dotted key up in tracked params: a direct `a.b` entry or a tracked parent object `a`. */
export function paramValue(params: ParamValues, key: string): unknown {
  const parts = key.split('.');
  for (const file of Object.keys(params).sort()) {
    const values = params[file]!;
    if (key in values) return values[key];
    for (let i = parts.length - 1; i > 0; i--) {
      const parent = parts.slice(0, i).join('.');
      if (parent in values) {
        const v = dig(values[parent], parts.slice(i));
        if (v !== undefined) return v;
      }
    }
  }
  return undefined;
}

export function settingsFrom(get: (key: string) => unknown): ModelSettings {
  const str = (k: string, d: string): string => {
    const v = get(k);
    return typeof v === 'string' && v ? v : d;
  };
  const num = (k: string, d: number): number => {
    const v = get(k);
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : d;
  };
  const d = DEFAULT_MODEL_SETTINGS;
  return {
    variant: str('model.variant', d.variant),
    weightsDir: str('model.weights_dir', d.weightsDir),
    stride: num('features.stride', d.stride),
    batch: num('features.batch', d.batch),
  };
}

/** Settings for standalone CLI use: params/default.yaml when the project has one, else the defaults. */
export async function projectModelSettings(root: string): Promise<ModelSettings> {
  let doc: unknown = {};
  try {
    doc = parse(await fs.readFile(join(root, 'params', 'default.yaml'), 'utf8')) ?? {};
  } catch {
    doc = {};
  }
  return settingsFrom((key) => dig(doc, key.split('.')));
}
