// Handler stages through the engine API (reproduce(), as experiments and watch mode call it): tool
// versions and external stamps decide freshness, and a handler's log is replayed from the run-cache.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planStatus, reproduce } from '../../src/exec/reproduce.js';
import { defineHandler, type HandlerRegistry, type RegisteredHandler } from '../../src/handler.js';
import { Rig } from '../rig.js';

let rig: Rig;
afterEach(async () => rig?.cleanup());

/** A handler whose version and stamp the test controls; it counts its runs. */
function fakeWorld() {
  const world = { version: '1.0', stamp: 'rows=1' as string | null | Error, runs: 0 };
  const handler = defineHandler<{ text: string }>({
    name: 'write-text',
    summary: 'writes with.text to its out',
    schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false },
    versions: async () => ({ writer: world.version }),
    describeVersion: (tool, v) => `${v} (${tool}'s own words)`,
    stamp: async () => {
      if (world.stamp instanceof Error) throw world.stamp;
      return world.stamp;
    },
    async run(ctx, p) {
      world.runs++;
      ctx.log(`writing ${p.text.length} chars`);
      await fs.writeFile(ctx.outs[0]!, p.text);
    },
  });
  const registry: HandlerRegistry = {
    get: async (n) => (n === handler.name ? handler : undefined),
    names: async () => [handler.name],
  };
  return { world, registry, handler: handler as RegisteredHandler };
}

describe('handler stages', () => {
  it('rerun on a tool version or stamp change; null stamp always runs; run-cache replays the log', async () => {
    rig = new Rig();
    await rig.write({
      'in.txt': 'x',
      'pipeline.yaml': `stages:
  w:
    handler: write-text
    with: { text: hello }
    deps: [in.txt]
    outs: [w.txt]
`,
    });
    const { world, registry } = fakeWorld();
    let log = '';
    const io = { env: rig.env(), err: (t: string) => void (log += t), signal: new AbortController().signal };
    const go = async () => {
      log = '';
      const before = world.runs;
      const res = await reproduce(rig.dir, registry, {}, io);
      expect(res.ok, log).toBe(true);
      return world.runs - before;
    };
    expect(await go()).toBe(1);
    expect(rig.read('w.txt')).toBe('hello');
    expect(log).toContain('[w] writing 5 chars');
    expect(await go()).toBe(0);
    world.version = '2.0';
    expect(await go()).toBe(1);
    expect(log).toContain("tool writer 1.0 (writer's own words) → 2.0 (writer's own words)");
    world.stamp = 'rows=2';
    expect(await go()).toBe(1);
    expect(log).toContain('external state changed (stamp)');
    // Back to a state seen before: the run-cache answers, replaying the handler's log.
    world.stamp = 'rows=1';
    expect(await go()).toBe(0);
    expect(log).toContain('[w] restored from run-cache');
    expect(log).toContain('[w] writing 5 chars');
    world.stamp = null;
    expect(await go()).toBe(1);
    expect(await go()).toBe(1);
    expect(log).toContain('external state unknown');
    const lock = await fs.readFile(join(rig.dir, 'pipeline.lock'), 'utf8');
    expect(lock).toContain('writer');
  });

  it('records the stamp as it is after the run (a stage that changes the state its stamp describes)', async () => {
    rig = new Rig();
    await rig.write({
      'in.txt': 'x',
      'pipeline.yaml': `stages:
  w:
    handler: write-text
    with: { text: hello }
    deps: [in.txt]
    outs: [w.txt]
`,
    });
    const { world, registry, handler } = fakeWorld();
    const run = handler.run.bind(handler);
    // Like a push: running changes the external listing the stamp reports.
    handler.run = async (ctx, p) => {
      await run(ctx, p);
      world.stamp = `rows=${world.runs + 1}`;
    };
    const io = { env: rig.env(), err: () => {}, signal: new AbortController().signal };
    await reproduce(rig.dir, registry, {}, io);
    expect(world.runs).toBe(1);
    const again = await reproduce(rig.dir, registry, {}, io);
    expect(again.stages.map((s) => s.outcome)).toEqual(['skipped']);
    expect(world.runs).toBe(1);
  });
});

describe('a failing stamp hook', () => {
  it('status reports the stage as uncheckable; repro fails that stage, naming the cause', async () => {
    rig = new Rig();
    await rig.write({
      'in.txt': 'x',
      'pipeline.yaml': `stages:
  w:
    handler: write-text
    with: { text: hi }
    deps: [in.txt]
    outs: [w.txt]
`,
    });
    const { world, registry } = fakeWorld();
    world.stamp = new Error('database is not reachable');
    const io = { env: rig.env(), err: () => {}, signal: new AbortController().signal };
    const items = await planStatus(rig.dir, registry, {}, io);
    expect(items).toEqual([{ stage: 'w', decision: 'run', reasons: ['cannot check: database is not reachable'] }]);
    const res = await reproduce(rig.dir, registry, {}, io);
    expect(res.ok).toBe(false);
    expect(res.errors.map((e) => [e.subject, e.message])).toEqual([['w', 'database is not reachable']]);
    expect(world.runs).toBe(0);
  });
});
