// `rallycut plots show|diff`: the self-contained HTML report (src/report/html.ts).
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import type { HandlerRegistry } from '../../handler-contract.js';
import { writeFileAtomic } from '../../fsutil.js';
import { loadPipeline } from '../../pipeline/load.js';
import { cacheDirFor, requireProjectRoot } from '../../project.js';
import { collectProjectData } from '../../report/data.js';
import { comparisonCharts, curveCharts, htmlTable, renderReport, timelineCharts, videoCharts, type ReportSection } from '../../report/html.js';
import { readAll, readRecord } from '../../exp/records.js';
import { fromRecord } from '../../exp/snapshot.js';
import { buildExpTable } from '../../exp/table.js';
import { optBool, optString, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';

function openInBrowser(file: string, io: CommandIO): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [file], { detached: true, stdio: 'ignore' });
  child.on('error', () => io.err(`could not start '${opener}'; open ${file} yourself\n`));
  child.unref();
}

async function writeReport(args: ParsedArgs, io: CommandIO, root: string, fileName: string, html: string): Promise<void> {
  const outDir = optString(args, 'out') ? resolve(io.cwd, optString(args, 'out')!) : join(cacheDirFor(root, io.env), 'report');
  await fs.mkdir(outDir, { recursive: true });
  const file = join(outDir, fileName);
  await writeFileAtomic(file, html);
  io.out(`${file}\n`);
  if (optBool(args, 'open')) openInBrowser(file, io);
}

const OPTIONS = [
  { name: 'out', short: 'o', type: 'string' as const, description: 'Folder to write the report into (default: <cache>/report)', placeholder: 'DIR' },
  { name: 'open', type: 'boolean' as const, description: 'Open the report in the default browser' },
];

export function plotsCommands(registry: HandlerRegistry): CommandSpec[] {
  return [
    {
      path: ['plots', 'show'],
      summary: 'Write an offline HTML report: training curves, per-video precision/recall, rally timelines, experiments',
      options: OPTIONS,
      async run(args, io) {
        const root = requireProjectRoot(io.cwd);
        const cacheDir = cacheDirFor(root, io.env);
        const pipeline = await loadPipeline(root, registry, { checkDeps: false });
        const [data, exps] = await Promise.all([collectProjectData(root, pipeline, registry), readAll(cacheDir)]);
        const sections: ReportSection[] = [
          { title: 'Temporal model training', charts: curveCharts(data.curves) },
          { title: 'Precision and recall per video', charts: videoCharts(data.videos) },
          { title: 'Rally timelines', charts: timelineCharts(data.timelines) },
        ];
        if (exps.length) {
          const table = buildExpTable(exps.map(fromRecord), { columns: 'f1' });
          sections.push({ title: 'Experiments', charts: comparisonCharts(exps), html: htmlTable(table.headers, table.rows) });
        } else sections.push({ title: 'Experiments', charts: [], html: '<p class="empty">no experiments yet (rallycut exp run)</p>' });
        await writeReport(args, io, root, 'index.html', await renderReport('RallyCut pipeline report', sections));
      },
    },
    {
      path: ['plots', 'diff'],
      summary: 'Write an HTML report showing two experiments side by side',
      positionals: [
        { name: 'a', description: 'Experiment', required: true, complete: 'experiment' },
        { name: 'b', description: 'Experiment', required: true, complete: 'experiment' },
      ],
      options: OPTIONS,
      async run(args, io) {
        const root = requireProjectRoot(io.cwd);
        const cacheDir = cacheDirFor(root, io.env);
        const [a, b] = await Promise.all(args.positionals.slice(0, 2).map((n) => readRecord(cacheDir, n)));
        const column = (r: typeof a): ReportSection => ({
          title: r!.name,
          html: htmlTable(
            ['Param', 'Value'],
            r!.overrides.map((o) => [`${o.file}:${o.key}`, JSON.stringify(o.value)]),
          ),
          charts: [...curveCharts(r!.charts?.curves ?? {}, r!.name), ...videoCharts(r!.charts?.videos ?? {}, r!.name)],
        });
        const compare: ReportSection = { title: 'Comparison', charts: comparisonCharts([a!, b!]) };
        const html = await renderReport(`RallyCut: ${a!.name} vs ${b!.name}`, [column(a), column(b), compare], { columns: true });
        await writeReport(args, io, root, `diff-${a!.name}-${b!.name}.html`, html);
      },
    },
  ];
}
