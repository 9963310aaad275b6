// Heuristic parameters: the two model presets, the fixed values, and `--set key=value` overrides.
import { configError } from '../../../src/handler.js';

export type HeuristicsModel = 'indoor' | 'beach';

export interface HeuristicsParams {
  /** Seconds; multi-window segments shorter than int(this·fps) frames are rejected as TOO_SHORT. */
  min_play_duration: number;
  /** Seconds of consecutive no_play that end a rally during continuation (≤ 0 disables it). */
  rally_continuation_seconds: number;
  /** Active probability a no_play window needs to join a single active neighbour. */
  boundary_confidence_threshold: number;
  /** Minimum active windows per base-stride interval for multi-window segments. */
  min_active_density: number;
  /** Seconds; shorter no_play runs may be bridged. */
  min_gap_seconds: number;
  /** Seconds subtracted from each kept segment's start. */
  padding_seconds: number;
  /** Seconds added to each kept segment's end. */
  padding_end_seconds: number;
  /** Mean confidence a rejected segment needs to be suggested. Fixed at 0.3. */
  min_suggestion_confidence: number;
}

/** The keys a user may override with `--set` or under `heuristics:` in params/default.yaml. */
export const OVERRIDABLE_KEYS = [
  'min_gap_seconds',
  'rally_continuation_seconds',
  'boundary_confidence_threshold',
  'min_active_density',
  'min_play_duration',
  'padding_seconds',
  'padding_end_seconds',
] as const;
export type OverridableKey = (typeof OVERRIDABLE_KEYS)[number];

const FIXED = { padding_seconds: 2.0, padding_end_seconds: 3.0, min_suggestion_confidence: 0.3 } as const;

const PRESETS: Record<HeuristicsModel, HeuristicsParams> = {
  indoor: {
    min_play_duration: 1.0,
    rally_continuation_seconds: 2.0,
    boundary_confidence_threshold: 0.35,
    min_active_density: 0.25,
    min_gap_seconds: 5.0,
    ...FIXED,
  },
  beach: {
    min_play_duration: 1.0,
    rally_continuation_seconds: 1.5,
    boundary_confidence_threshold: 0.4,
    min_active_density: 0.3,
    min_gap_seconds: 3.0,
    ...FIXED,
  },
};

export const HEURISTICS_MODELS: readonly HeuristicsModel[] = ['indoor', 'beach'];

export function isHeuristicsModel(value: string): value is HeuristicsModel {
  return (HEURISTICS_MODELS as readonly string[]).includes(value);
}

/** A fresh copy of a model's preset. Throws a config error naming the valid models for anything else. */
export function presetFor(model: string): HeuristicsParams {
  if (!isHeuristicsModel(model)) {
    throw configError(`unknown heuristics model '${model}'`, { subject: 'model', notes: [`valid models: ${HEURISTICS_MODELS.join(', ')}`] });
  }
  return { ...PRESETS[model] };
}

function isOverridable(key: string): key is OverridableKey {
  return (OVERRIDABLE_KEYS as readonly string[]).includes(key);
}

function unknownKey(key: string, where: string): never {
  throw configError(`unknown heuristics parameter '${key}'${where}`, {
    subject: key,
    notes: [`valid keys: ${OVERRIDABLE_KEYS.join(', ')}`],
  });
}

/**
 * Applies overrides (from params/ or parsed `--set` pairs) on top of `base`; null keeps the base value. Unknown
 * keys and non-numeric values are config errors naming the key; `where` is appended to messages (e.g. " in params/default.yaml").
 */
export function applyOverrides(base: HeuristicsParams, overrides: Readonly<Record<string, unknown>>, where = ''): HeuristicsParams {
  const out = { ...base };
  for (const key of Object.keys(overrides).sort()) {
    if (!isOverridable(key)) unknownKey(key, where);
    const value = overrides[key];
    if (value === null || value === undefined) continue; // null in params means "keep the preset's value"
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw configError(`heuristics parameter '${key}' must be a finite number, got ${JSON.stringify(value)}${where}`, { subject: key });
    }
    out[key] = value;
  }
  return out;
}

/** Parses `--set key=value` strings into numeric overrides; errors name the offending pair or key. */
export function parseSetPairs(pairs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw configError(`--set expects key=value, got '${pair}'`, { subject: '--set', notes: [`valid keys: ${OVERRIDABLE_KEYS.join(', ')}`] });
    }
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1).trim();
    if (!isOverridable(key)) unknownKey(key, ' (from --set)');
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) {
      throw configError(`--set ${key} expects a number, got '${raw}'`, { subject: key });
    }
    out[key] = value;
  }
  return out;
}
