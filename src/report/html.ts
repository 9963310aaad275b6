// The self-contained HTML report (`rallycut plots show|diff`): vega, vega-lite and vega-embed inlined from
// node_modules (works offline), the data embedded as JSON, each chart rendered as SVG by vega-embed.
import { existsSync, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failure } from '../diagnostics.js';
import type { ExpRecord } from '../exp/records.js';
import type { ProjectData } from './data.js';

const SCRIPTS = ['vega/build/vega.min.js', 'vega-lite/build/vega-lite.min.js', 'vega-embed/build/vega-embed.min.js'];

async function inlineScripts(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const nm = join(dir, 'node_modules');
    if (SCRIPTS.every((s) => existsSync(join(nm, s)))) {
      const texts = await Promise.all(SCRIPTS.map((s) => fs.readFile(join(nm, s), 'utf8')));
      return texts.map((t) => `<script>${t.replace(/<\/script/gi, '<\\/script')}</script>`).join('\n');
    }
    const parent = dirname(dir);
    if (parent === dir) throw failure(`cannot find ${SCRIPTS.join(', ')} in node_modules (npm install vega vega-lite vega-embed)`);
    dir = parent;
  }
}

export interface Chart {
  readonly id: string;
  readonly title: string;
  /** A vega-lite spec; absent when there is nothing to draw (the note says why). */
  readonly spec?: Record<string, unknown>;
  /** Shown under the title, e.g. why the chart is empty. */
  readonly note?: string;
}

/** What no prediction at all looks like on a chart: empty bars. Said in words instead. */
const NO_PREDICTIONS = 'no rallies predicted';

/**
 * How each video is named on a chart: its filename (its id when there is none), with the start of the id
 * added where two videos share a filename. The id itself goes in the tooltip.
 */
function videoLabels(videos: readonly { readonly video_id: string; readonly filename?: string }[]): Map<string, string> {
  const named = new Map(videos.map((v) => [v.video_id, v.filename ?? v.video_id]));
  const uses = new Map<string, number>();
  for (const name of named.values()) uses.set(name, (uses.get(name) ?? 0) + 1);
  return new Map([...named].map(([id, name]) => [id, (uses.get(name) ?? 0) > 1 && name !== id ? `${name} (${id.slice(0, 8)})` : name]));
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const slug = (s: string): string => s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

export function curveCharts(curves: ExpCharts['curves'], label = ''): Chart[] {
  return Object.entries(curves).map(([file, points]) => {
    const values = points.flatMap((p) => [
      ...(p.train_loss !== undefined ? [{ epoch: p.epoch, series: 'train loss', value: p.train_loss }] : []),
      ...(p.val_f1 !== undefined ? [{ epoch: p.epoch, series: 'validation F1', value: p.val_f1 }] : []),
    ]);
    return {
      id: `curve-${slug(label ? `${label}-${file}` : file)}`,
      title: `Training curves: ${file}${label ? ` (${label})` : ''}`,
      spec: {
        data: { values },
        facet: { column: { field: 'series', title: null } },
        spec: {
          width: 320,
          height: 200,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'epoch', type: 'quantitative' },
            y: { field: 'value', type: 'quantitative', scale: { zero: false } },
            color: { field: 'series', legend: null },
          },
        },
        resolve: { scale: { y: 'independent' } },
      },
    };
  });
}

type ExpCharts = NonNullable<ExpRecord['charts']>;

export function videoCharts(videos: ExpCharts['videos'], label = ''): Chart[] {
  return Object.entries(videos).map(([file, rows]) => {
    const chart = { id: `videos-${slug(label ? `${label}-${file}` : file)}`, title: `Precision and recall per video: ${file}${label ? ` (${label})` : ''}` };
    if (rows.length && rows.every((r) => r.predicted === 0)) return { ...chart, note: NO_PREDICTIONS };
    const names = videoLabels(rows);
    return {
      ...chart,
      spec: {
        data: {
          values: rows.flatMap((r) =>
            (['precision', 'recall'] as const).map((metric) => ({ video: names.get(r.video_id), id: r.video_id, metric, value: r[metric] })),
          ),
        },
        width: { step: 14 },
        height: 200,
        mark: 'bar',
        encoding: {
          x: { field: 'video', type: 'nominal', sort: null },
          xOffset: { field: 'metric' },
          y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] } },
          color: { field: 'metric' },
          tooltip: [{ field: 'video' }, { field: 'id' }, { field: 'metric' }, { field: 'value', format: '.3f' }],
        },
      },
    };
  });
}

export function timelineCharts(timelines: ProjectData['timelines']): Chart[] {
  return Object.entries(timelines).map(([file, list]) => {
    const names = videoLabels(list);
    const row = (v: (typeof list)[number], kind: string, s: { start_ms: number; end_ms: number }) => ({
      video: names.get(v.video_id),
      id: v.video_id,
      kind,
      start_s: s.start_ms / 1000,
      end_s: s.end_ms / 1000,
    });
    return {
      id: `timeline-${slug(file)}`,
      title: `Rally timelines, predicted vs truth: ${file}`,
      ...(list.length && list.every((v) => v.predicted.length === 0) ? { note: NO_PREDICTIONS } : {}),
      spec: {
        data: { values: list.flatMap((v) => [...v.truth.map((s) => row(v, 'truth', s)), ...v.predicted.map((s) => row(v, 'predicted', s))]) },
        width: 900,
        height: { step: 12 },
        mark: 'bar',
        encoding: {
          y: { field: 'video', type: 'nominal', sort: null },
          yOffset: { field: 'kind' },
          x: { field: 'start_s', type: 'quantitative', title: 'seconds' },
          x2: { field: 'end_s' },
          color: { field: 'kind', scale: { domain: ['truth', 'predicted'] } },
          tooltip: [{ field: 'video' }, { field: 'id' }, { field: 'kind' }, { field: 'start_s' }, { field: 'end_s' }],
        },
      },
    };
  });
}

/** Per-metric bars, one per experiment, for the metrics whose name mentions f1 (else the first few). */
export function comparisonCharts(exps: readonly ExpRecord[]): Chart[] {
  const rows = exps.flatMap((e) =>
    Object.entries(e.metrics).flatMap(([file, m]) =>
      Object.entries(m).flatMap(([k, v]) => (typeof v === 'number' ? [{ experiment: e.name, metric: `${file}:${k}`, value: v }] : [])),
    ),
  );
  const keys = [...new Set(rows.map((r) => r.metric))].sort();
  const chosen = (keys.filter((k) => /f1/i.test(k)).length ? keys.filter((k) => /f1/i.test(k)) : keys).slice(0, 12);
  const charts: Chart[] = [];
  if (chosen.length) {
    charts.push({
      id: 'experiments-metrics',
      title: 'Experiments: metrics',
      spec: {
        data: { values: rows.filter((r) => chosen.includes(r.metric)) },
        width: { step: 12 },
        height: 220,
        mark: 'bar',
        encoding: {
          x: { field: 'metric', type: 'nominal', sort: null },
          xOffset: { field: 'experiment' },
          y: { field: 'value', type: 'quantitative' },
          color: { field: 'experiment' },
          tooltip: [{ field: 'experiment' }, { field: 'metric' }, { field: 'value', format: '.4f' }],
        },
      },
    });
  }
  const curves = exps.flatMap((e) =>
    Object.values(e.charts?.curves ?? {}).flatMap((pts) =>
      pts.filter((p) => p.val_f1 !== undefined).map((p) => ({ experiment: e.name, epoch: p.epoch, val_f1: p.val_f1 })),
    ),
  );
  if (curves.length) {
    charts.push({
      id: 'experiments-curves',
      title: 'Experiments: validation F1 per epoch',
      spec: {
        data: { values: curves },
        width: 500,
        height: 220,
        mark: 'line',
        encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { field: 'val_f1', type: 'quantitative' }, color: { field: 'experiment' } },
      },
    });
  }
  return charts;
}

export interface ReportSection {
  readonly title: string;
  readonly charts: readonly Chart[];
  /** Extra HTML (a table), already escaped. */
  readonly html?: string;
}

export function htmlTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cell = (v: unknown): string => esc(v === null || v === undefined ? '-' : typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v));
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The page: sections (or columns side by side) of charts; `window.__rallycutRendered` resolves when all charts rendered. */
export async function renderReport(title: string, sections: readonly ReportSection[], opts: { columns?: boolean } = {}): Promise<string> {
  const charts = sections.flatMap((s) => s.charts);
  const figure = (c: Chart): string =>
    `<figure id="figure-${c.id}"><figcaption>${esc(c.title)}</figcaption>${c.note ? `<p class="empty">${esc(c.note)}</p>` : ''}${c.spec ? `<div class="chart" id="${c.id}"></div>` : ''}</figure>`;
  const body = sections
    .map(
      (s) =>
        `<section><h2>${esc(s.title)}</h2>${s.html ?? ''}${s.charts.length ? s.charts.map(figure).join('') : s.html ? '' : '<p class="empty">no data</p>'}</section>`,
    )
    .join('\n');
  const specs = JSON.stringify(Object.fromEntries(charts.flatMap((c) => (c.spec ? [[c.id, c.spec]] : [])))).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;border-bottom:1px solid #ddd;padding-bottom:4px}
figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:4px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
th{background:#f4f4f4}.empty{color:#888}${opts.columns ? 'main{display:grid;grid-template-columns:1fr 1fr;gap:24px}' : ''}
</style>
${await inlineScripts()}
</head><body><h1>${esc(title)}</h1><main>
${body}
</main>
<script>
const specs = ${specs};
window.__rallycutRendered = Promise.all(Object.entries(specs).map(([id, spec]) => vegaEmbed('#' + id, spec, { mode: 'vega-lite', renderer: 'svg', actions: false })));
</script>
</body></html>
`;
}
