// The report's training curves: a checkpoint folder's model.json (or a JSON out) with a per-epoch `metrics`
// list of train_loss and val_f1, as temporal training writes it.
import type { EpochPoint, ReportSource } from '../../src/handler.js';
import { finiteOrUndefined as num, objectOrUndefined as obj } from '../lib/jsonio/index.js';

export function curveOf(model: unknown): EpochPoint[] | undefined {
  const list = obj(model)?.metrics;
  if (!Array.isArray(list)) return undefined;
  const points = list.flatMap((m) => {
    const o = obj(m);
    const epoch = num(o?.epoch);
    if (epoch === undefined) return [];
    const loss = num(o?.train_loss);
    const f1 = num(o?.val_f1);
    return [{ epoch, ...(loss !== undefined ? { train_loss: loss } : {}), ...(f1 !== undefined ? { val_f1: f1 } : {}) }];
  });
  return points.length ? points : undefined;
}

export const trainingCurves: ReportSource = {
  name: 'training curves',
  async collect(stage, read) {
    const curves: Record<string, EpochPoint[]> = {};
    for (const out of stage.outs) {
      if (out.kind !== 'out') continue;
      const candidate = out.path.endsWith('.json') ? out.path : `${out.path}/model.json`;
      const curve = curveOf(await read(candidate));
      if (curve) curves[candidate] = curve;
    }
    return { curves };
  },
};
