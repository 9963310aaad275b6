// Registry of the domain stages and their CLI commands. Imported only by the CLI (src/cli/main.ts).
import type { HandlerRegistry, StageModule } from '../src/handler.js';
import exportDataset from './export-dataset/index.js';
import push from './push/index.js';
import pull from './pull/index.js';
import restore from './restore/index.js';
import listRemote from './list-remote/index.js';
import db from './db/index.js';
import demo from './demo/index.js';
import prepare from './prepare/index.js';
import extractFeatures from './extract-features/index.js';
import cut from './cut/index.js';
import segments from './segments/index.js';
import temporal from './temporal/index.js';
import evaluate from './evaluate/index.js';
import modalTrain from './modal-train/index.js';
import model from './model/index.js';
import trainDiff from './train-diff/index.js';

export const stageModules: readonly StageModule[] = [
  exportDataset,
  push,
  pull,
  restore,
  listRemote,
  db,
  demo,
  prepare,
  extractFeatures,
  cut,
  segments,
  temporal,
  evaluate,
  modalTrain,
  model,
  trainDiff,
];

export const handlerRegistry: HandlerRegistry = {
  async get(name) {
    for (const m of stageModules) for (const h of m.handlers ?? []) if (h.name === name) return h;
    return undefined;
  },
  async names() {
    return stageModules.flatMap((m) => (m.handlers ?? []).map((h) => h.name)).sort();
  },
  async tools(ctx) {
    return (await import('./tools.js')).toolReports(ctx);
  },
  async reportSources() {
    return stageModules.flatMap((m) => m.reportSources ?? []);
  },
};
