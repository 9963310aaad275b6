// Where the report's charts come from. The engine knows only the chart kinds it draws (per-epoch curves,
// per-video scores, predicted-vs-truth timelines) and reads every stage's metrics files; which files hold
// which chart data is domain knowledge that stage modules contribute (StageModule.reportSources in
// src/handler.ts), through the handler registry the CLI passes in, as with handlers.
import type { EpochPoint, VideoScore } from '../exp/records.js';
import type { Stage } from '../pipeline/types.js';

export interface Span {
  readonly start_ms: number;
  readonly end_ms: number;
}

export interface Timeline {
  readonly video_id: string;
  /** What the chart shows for the video (the id goes in the tooltip). */
  readonly filename?: string;
  readonly predicted: readonly Span[];
  readonly truth: readonly Span[];
}

/** Chart data, each kind keyed by the project file it came from. */
export interface ReportContribution {
  readonly curves?: Readonly<Record<string, EpochPoint[]>>;
  readonly videos?: Readonly<Record<string, VideoScore[]>>;
  readonly timelines?: Readonly<Record<string, Timeline[]>>;
}

/**
 * Reads a project file (path relative to the root) as data: JSON for `.json`, else YAML; undefined when it
 * is absent or does not parse.
 */
export type ReadProjectData = (path: string) => Promise<unknown>;

/** Finds chart data among one stage's deps and outputs; called for every stage of the pipeline. */
export interface ReportSource {
  /** For messages: what the source reads (e.g. 'evaluation reports'). */
  readonly name: string;
  collect(stage: Stage, read: ReadProjectData): Promise<ReportContribution>;
}
