// Resolving evaluate's settings from (highest first) CLI flags or the stage's `with:`, tracked params
// (params/default.yaml: dataset.name, model.variant, evaluate.iou, heuristics.*), then defaults.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configError, type ParamValues } from '../../src/handler.js';
import { applyOverrides, HEURISTICS_MODELS, isHeuristicsModel, presetFor, type HeuristicsModel, type HeuristicsParams } from '../lib/heuristics/index.js';

export const DEFAULT_PARAMS_FILE = 'params/default.yaml';

/** A tracked param by dotted key, whether stored flat ("a.b": v) or nested ({ a: { b: v } }). */
export function paramValue(values: ParamValues, key: string): unknown {
  for (const file of Object.keys(values).sort()) {
    const record = values[file]!;
    if (key in record) return record[key];
    const parts = key.split('.');
    for (let i = parts.length - 1; i >= 1; i--) {
      const head = parts.slice(0, i).join('.');
      if (!(head in record)) continue;
      let cur: unknown = record[head];
      for (const p of parts.slice(i)) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
      if (cur !== undefined) return cur;
    }
    const prefix = `${key}.`;
    const children = Object.keys(record).filter((k) => k.startsWith(prefix));
    if (children.length) return Object.fromEntries(children.map((k) => [k.slice(prefix.length), record[k]]));
  }
  return undefined;
}

/** params/default.yaml of a project as ParamValues (empty when absent), for the standalone CLI. */
export async function readProjectParams(root: string | undefined): Promise<ParamValues> {
  if (!root) return {};
  let text: string;
  try {
    text = await fs.readFile(join(root, DEFAULT_PARAMS_FILE), 'utf8');
  } catch {
    return {};
  }
  const parsed: unknown = parse(text);
  return parsed && typeof parsed === 'object' ? { [DEFAULT_PARAMS_FILE]: parsed as Record<string, unknown> } : {};
}

export interface HeuristicsSettings {
  model: HeuristicsModel;
  params: HeuristicsParams;
}

/**
 * The preset from `explicitModel` (flag/with, must be valid), else from the model.variant param when it names a
 * preset, else indoor; then the `heuristics:` params, then explicit overrides (`--set`).
 */
export function resolveHeuristics(
  values: ParamValues,
  explicitModel: string | undefined,
  overrides: Readonly<Record<string, unknown>> = {},
): HeuristicsSettings {
  let model: HeuristicsModel = 'indoor';
  if (explicitModel !== undefined) {
    if (!isHeuristicsModel(explicitModel))
      throw configError(`unknown heuristics model '${explicitModel}'`, { subject: 'model', notes: [`valid models: ${HEURISTICS_MODELS.join(', ')}`] });
    model = explicitModel;
  } else {
    const variant = paramValue(values, 'model.variant');
    if (typeof variant === 'string' && isHeuristicsModel(variant)) model = variant;
  }
  const fromParams = paramValue(values, 'heuristics');
  if (fromParams !== undefined && (typeof fromParams !== 'object' || fromParams === null || Array.isArray(fromParams))) {
    throw configError(`'heuristics' in ${DEFAULT_PARAMS_FILE} must be a mapping of parameter: number`, { subject: 'heuristics' });
  }
  const params = applyOverrides(
    applyOverrides(presetFor(model), (fromParams ?? {}) as Record<string, unknown>, ` (heuristics: in ${DEFAULT_PARAMS_FILE})`),
    overrides,
  );
  return { model, params };
}

export function resolveIou(values: ParamValues, explicit: number | undefined): number {
  const fromParams = paramValue(values, 'evaluate.iou');
  const iou = explicit ?? (typeof fromParams === 'number' ? fromParams : 0.5);
  if (!(iou > 0 && iou <= 1)) throw configError(`IoU threshold must be in (0, 1], got ${iou}`, { subject: 'iou' });
  return iou;
}

export function resolveDataset(values: ParamValues, explicit: string | undefined): string {
  const fromParams = paramValue(values, 'dataset.name');
  return explicit ?? (typeof fromParams === 'string' ? fromParams : 'demo');
}
