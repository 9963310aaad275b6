// `npm run bench`: runs every benchmark (or those named on the command line) and prints each figure
// with its baseline, measured in the same run, and the ratio against the target.
export interface Bench {
  name: string;
  run(): Promise<void>;
}

import { bench as hashBench } from './hash.js';
import { bench as segmentsBench } from './segments.js';
import { bench as noopBench } from './noop.js';
import { bench as temporalBench } from './temporal.js';
import { bench as datasetBench } from './dataset.js';
import { bench as inferenceBench } from './inference.js';
import { bench as videomaeBench } from './videomae.js';
import { bench as prepareBench } from './prepare.js';
import { bench as expBench } from './exp.js';

const benches: Bench[] = [hashBench, segmentsBench, noopBench, temporalBench, datasetBench, inferenceBench, videomaeBench, prepareBench, expBench];

const only = process.argv.slice(2);
for (const b of benches) {
  if (only.length && !only.some((o) => b.name.includes(o))) continue;
  process.stdout.write(`\n== ${b.name} ==\n`);
  await b.run();
}
