// What the report and experiment records read from a project's outputs, as plain JSON (the engine never
// imports stages/): every metrics file, and the chart data the registry's report sources (contributed by
// stage modules, see sources.ts) find among each stage's deps and outs.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { EpochPoint, ExpCharts, VideoScore } from '../exp/records.js';
import type { HandlerRegistry } from '../handler-contract.js';
import type { Pipeline } from '../pipeline/types.js';
import type { ReadProjectData, Timeline } from './sources.js';

export type { Span, Timeline } from './sources.js';

export interface ProjectData extends ExpCharts {
  /** Parsed metrics files by path. */
  readonly metrics: Record<string, unknown>;
  readonly timelines: Record<string, Timeline[]>;
}

function projectReader(root: string): ReadProjectData {
  return async (path) => {
    try {
      const text = await fs.readFile(join(root, path), 'utf8');
      return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch {
      return undefined;
    }
  };
}

/** Reads the charts' data from a project folder, guided by its pipeline's outs, metrics and deps. */
export async function collectProjectData(root: string, pipeline: Pipeline, registry: HandlerRegistry): Promise<ProjectData> {
  const read = projectReader(root);
  const sources = (await registry.reportSources?.()) ?? [];
  const curves: Record<string, EpochPoint[]> = {};
  const videos: Record<string, VideoScore[]> = {};
  const metrics: Record<string, unknown> = {};
  const timelines: Record<string, Timeline[]> = {};
  for (const stage of pipeline.stages.values()) {
    for (const out of stage.outs) {
      if (out.kind !== 'metric') continue;
      const data = await read(out.path);
      if (data !== undefined) metrics[out.path] = data;
    }
    for (const source of sources) {
      const found = await source.collect(stage, read);
      Object.assign(curves, found.curves);
      Object.assign(videos, found.videos);
      Object.assign(timelines, found.timelines);
    }
  }
  return { curves, videos, metrics, timelines };
}
