// The HTML report opened in headless Chromium (Debian's package, driven by playwright-core): every chart
// must render SVG marks from the inlined vega scripts, with no network.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping the report rendering tests: ${CHROMIUM} is not installed (apt-get install chromium)`);

const PIPELINE = `stages:
  temporal:
    cmd: 'true'
    deps: [training_datasets/demo/ground_truth.json]
    outs: [weights/temporal]
  evaluate:
    cmd: 'true'
    deps: [weights/temporal, training_datasets/demo/ground_truth.json]
    metrics:
      - metrics/evaluate.json: { cache: false }
  evaluate-heuristics:
    cmd: 'true'
    deps: [training_datasets/demo/ground_truth.json]
    metrics:
      - metrics/heuristics.json: { cache: false }
`;

// Videos are named by UUIDs in the app's database; people know them by their filenames.
const V1 = '3f1c2a9e-7b4d-4c1a-9f0e-2d5b8a6c1e01';
const V2 = '9a7e4b21-0c3d-4e5f-8a9b-1c2d3e4f5a02';

const FILENAMES: Record<string, string> = { [V1]: 'match_01.mp4', [V2]: 'match_02.mp4' };

const video = (id: string, p: number, r: number) => ({
  video_id: id,
  filename: FILENAMES[id],
  greedy: { precision: p, recall: r, f1: (2 * p * r) / (p + r), tp: 1, fp: 0, fn: 0 },
  predicted_count: 2,
  predicted: [
    { start_ms: 1000, end_ms: 9000 },
    { start_ms: 20000, end_ms: 31000 },
  ],
});

/** A heuristics run that found nothing: F1 0, no spans. */
const nothingFound = (id: string) => ({
  video_id: id,
  filename: FILENAMES[id],
  greedy: { precision: 0, recall: 0, f1: 0, tp: 0, fp: 0, fn: 1 },
  predicted_count: 0,
  predicted: [],
});

const FILES = {
  'pipeline.yaml': PIPELINE,
  'training_datasets/demo/ground_truth.json': JSON.stringify([
    { video_id: V1, filename: 'match_01.mp4', rallies: [{ start_ms: 1500, end_ms: 9500 }] },
    { video_id: V2, filename: 'match_02.mp4', rallies: [{ start_ms: 19000, end_ms: 30000 }] },
  ]),
  'weights/temporal/model.json': JSON.stringify({ metrics: [1, 2, 3, 4].map((e) => ({ epoch: e, train_loss: 1 / e, val_f1: 0.5 + e / 10, lr: 1e-4 })) }),
  'metrics/evaluate.json': JSON.stringify({ totals: { greedy: { f1: 0.8, precision: 0.75, recall: 0.9 } }, videos: [video(V1, 0.5, 1), video(V2, 1, 0.5)] }),
  'metrics/heuristics.json': JSON.stringify({ totals: { greedy: { f1: 0, precision: 0, recall: 0 } }, videos: [nothingFound(V1), nothingFound(V2)] }),
};

function record(name: string, f1: number) {
  return {
    name,
    status: 'success',
    overrides: [{ file: 'params/default.yaml', key: 'temporal.lr', value: f1 / 1000 }],
    params: { 'params/default.yaml': { temporal: { lr: f1 / 1000 } } },
    metrics: { 'metrics/evaluate.json': { 'totals.greedy.f1': f1 } },
    lock: null,
    created: `2026-01-01T00:00:0${(f1 * 10) | 0}Z`,
    charts: {
      curves: {
        'weights/temporal/model.json': [
          { epoch: 1, train_loss: 1, val_f1: f1 - 0.1 },
          { epoch: 2, train_loss: 0.5, val_f1: f1 },
        ],
      },
      videos: { 'metrics/evaluate.json': [{ video_id: V1, precision: f1, recall: 1, f1 }] },
    },
  };
}

let browser: Browser | undefined;
let rig: Rig;
beforeAll(async () => {
  rig = new Rig('rallycut-report-');
  await rig.write({ ...FILES, '.cache/exps/lr-a.json': JSON.stringify(record('lr-a', 0.7)), '.cache/exps/lr-b.json': JSON.stringify(record('lr-b', 0.8)) });
  if (haveChromium) {
    browser = await chromium.launch({
      executablePath: CHROMIUM, // playwright gives it a fresh temporary profile
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await rig.cleanup();
});

/** Opens the page offline and waits until every chart rendered; no request may leave the machine, no script may fail. */
async function open(file: string): Promise<{ page: Page; done(): Promise<void> }> {
  const page = await browser!.newPage();
  const requests: string[] = [];
  page.on('request', (r) => void (r.url().startsWith('file:') || requests.push(r.url())));
  const errors: string[] = [];
  page.on('pageerror', (e) => void errors.push(e.message));
  await page.goto(pathToFileURL(file).href);
  await page.evaluate('window.__rallycutRendered.then(() => true)');
  return {
    page,
    async done() {
      await page.close();
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    },
  };
}

/** Per chart container, how many SVG mark elements it drew. */
async function render(file: string): Promise<Record<string, number>> {
  const { page, done } = await open(file);
  const counts = await page.evaluate(
    `Object.fromEntries([...document.querySelectorAll('.chart')].map((c) => [c.id, c.querySelectorAll('svg g.role-mark > path, svg g.role-mark > line, svg g.role-mark > rect, svg g.role-mark > g > path').length]))`,
  );
  await done();
  return counts as Record<string, number>;
}

describe.skipIf(!haveChromium)('plots show / diff in headless Chromium', () => {
  it('renders training curves, per-video precision/recall, timelines and the experiments comparison', async () => {
    const res = await rig.run(['plots', 'show']);
    expect(res.code, res.stderr).toBe(0);
    const file = join(rig.dir, '.cache/report/index.html');
    expect(res.stdout.trim()).toBe(file);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/); // everything inlined
    const counts = await render(file);
    expect(Object.keys(counts).sort()).toEqual([
      'curve-weights-temporal-model-json',
      'experiments-curves',
      'experiments-metrics',
      'timeline-metrics-evaluate-json',
      'timeline-metrics-heuristics-json',
      'videos-metrics-evaluate-json',
    ]);
    // 2 videos × (precision, recall) bars; 2 truth + 4 predicted spans; one line per series, per experiment.
    expect(counts['videos-metrics-evaluate-json']).toBeGreaterThanOrEqual(4);
    expect(counts['timeline-metrics-evaluate-json']).toBeGreaterThanOrEqual(6);
    expect(counts['curve-weights-temporal-model-json']).toBeGreaterThanOrEqual(2);
    expect(counts['experiments-metrics']).toBeGreaterThanOrEqual(2);
    expect(counts['experiments-curves']).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('names videos by filename with the id in the tooltip, and says so when no rally was predicted', async () => {
    expect((await rig.run(['plots', 'show'])).code).toBe(0);
    const { page, done } = await open(join(rig.dir, '.cache/report/index.html'));
    // Axis labels: the filenames, never the ids.
    const labels = await page.locator('#videos-metrics-evaluate-json svg').textContent();
    expect(labels).toContain('match_01.mp4');
    expect(labels).toContain('match_02.mp4');
    expect(labels).not.toContain(V1);
    expect(await page.locator('#timeline-metrics-evaluate-json svg').textContent()).toContain('match_01.mp4');
    // Hovering a bar shows the filename and the id.
    await page.locator('#videos-metrics-evaluate-json svg g.role-mark path').first().hover();
    const tooltip = page.locator('#vg-tooltip-element');
    await tooltip.waitFor({ state: 'visible' });
    expect(await tooltip.textContent()).toMatch(new RegExp(`match_0[12]\\.mp4.*(${V1}|${V2})`));
    // The heuristics run predicted nothing: words, not an empty frame of zero-height bars.
    const nothing = page.locator('#figure-videos-metrics-heuristics-json');
    expect(await nothing.locator('.chart').count()).toBe(0);
    expect(await nothing.textContent()).toContain('no rallies predicted');
    expect(await nothing.getByText('no rallies predicted').isVisible()).toBe(true);
    expect(await page.locator('#figure-timeline-metrics-heuristics-json').textContent()).toContain('no rallies predicted');
    // Screenshots, as a person would see the report (kept beside it for a look when the test fails).
    const shot = join(rig.dir, '.cache/report/index.png');
    await page.screenshot({ path: shot, fullPage: true });
    await nothing.screenshot({ path: join(rig.dir, '.cache/report/no-predictions.png') });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    await done();
  }, 60_000);

  it('plots diff writes two experiments side by side', async () => {
    const out = join(rig.dir, 'out');
    const res = await rig.run(['plots', 'diff', 'lr-a', 'lr-b', '-o', out]);
    expect(res.code, res.stderr).toBe(0);
    const counts = await render(join(out, 'diff-lr-a-lr-b.html'));
    expect(Object.keys(counts)).toEqual(
      expect.arrayContaining(['curve-lr-a-weights-temporal-model-json', 'curve-lr-b-weights-temporal-model-json', 'experiments-metrics']),
    );
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(0);
  }, 60_000);
});
