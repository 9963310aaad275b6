// Property tests (fast-check) for the parsers with many edge cases. Heuristics (segments sorted, in bounds,
// non-overlapping) and matching (TP + FN = truths, TP + FP = predictions) have theirs beside the code:
// stages/lib/heuristics/detect.test.ts and stages/lib/metrics/metrics.test.ts.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { RallycutError } from '../../src/diagnostics.js';
import { LOCK_SCHEMA_VERSION, type LockEntry, type LockFile } from '../../src/lock/lock.js';
import { parseLock, serializeLock } from '../../src/lock/text.js';
import { loadPipeline } from '../../src/pipeline/load.js';
import { testRegistry } from '../../src/pipeline/test-project.js';

const root = mkdtempSync(join(tmpdir(), 'rallycut-prop-'));
mkdirSync(join(root, 'params'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// YAML-ish text: fragments that hit the loader's branches (keys, flow, anchors, tabs, interpolation).
const fragment = fc.constantFrom(
  'stages:',
  '  a:',
  '    cmd: echo ${x}',
  '    cmd: [a, b]',
  '    deps: [in.txt]',
  '    outs: [o.txt]',
  '    outs: [../o]',
  '    params: [x]',
  '    handler: evaluate',
  '    with: {name: 1}',
  '    foreach: [1, 2]',
  '    do:',
  '      cmd: x',
  '\t',
  '- ',
  ':',
  '{',
  '[',
  '&a',
  '*a',
  '!!binary',
  '~',
  'null',
  '"',
  "'",
  '${',
  '}',
  '#',
  '---',
  '...',
  '  b: {cmd: y}',
  '    outs:',
  '      - o.txt: {cache: false}',
  'vars: [params/p.yaml]',
  '    wdir: ..',
  '    frozen: yes',
);
const yamlText = fc.oneof(
  fc.array(fragment, { maxLength: 14 }).map((l) => l.join('\n')),
  fc.string({ maxLength: 80 }),
);
const paramsText = fc.oneof(fc.constantFrom('x: 1\n', 'x: [\n', '- 1\n', '', 'x: {y: 2}\n'), fc.string({ maxLength: 30 }));

describe('the pipeline loader', () => {
  it('either loads or throws a RallycutError naming pipeline.yaml or a params file — nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(yamlText, paramsText, async (pipeline, params) => {
        writeFileSync(join(root, 'pipeline.yaml'), pipeline);
        writeFileSync(join(root, 'params', 'default.yaml'), params);
        writeFileSync(join(root, 'params', 'p.yaml'), params);
        try {
          await loadPipeline(root, testRegistry());
        } catch (err) {
          expect(err).toBeInstanceOf(RallycutError);
          const diags = (err as RallycutError).diagnostics;
          expect(diags.length).toBeGreaterThan(0);
          for (const d of diags) expect(d.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const relPath = fc
  .array(
    fc.stringMatching(/^[A-Za-z0-9_.-]{1,8}$/).filter((s) => s !== '.' && s !== '..'),
    { minLength: 1, maxLength: 3 },
  )
  .map((p) => p.join('/'));
const lockedPath = fc.record({ path: relPath, sha256: hex64, size: fc.nat() });
const scalar = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean(), fc.constant(null));
const entry: fc.Arbitrary<LockEntry> = fc.record(
  {
    cmd: fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 3 }),
    deps: fc.uniqueArray(lockedPath, { selector: (p) => p.path, maxLength: 3 }).map((a) => a.sort((x, y) => (x.path < y.path ? -1 : 1))),
    params: fc.dictionary(
      fc.constantFrom('params/default.yaml', 'params/b.yaml'),
      fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_.]{0,8}$/), scalar, { maxKeys: 3 }),
    ),
    outs: fc.uniqueArray(lockedPath, { selector: (p) => p.path, maxLength: 3 }).map((a) => a.sort((x, y) => (x.path < y.path ? -1 : 1))),
    stamp: fc.string(),
  },
  { requiredKeys: ['deps', 'params', 'outs'] },
);

describe('pipeline.lock', () => {
  it('survives a round trip: parse(serialize(lock)) serializes to the same bytes', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_@-]{0,10}$/), entry, { maxKeys: 4 }), (stages) => {
        const lock: LockFile = { schema: LOCK_SCHEMA_VERSION, stages };
        const text = serializeLock(lock);
        const back = parseLock(text);
        expect(serializeLock(back)).toBe(text);
        expect(Object.keys(back.stages).sort()).toEqual(Object.keys(stages).sort());
        for (const [name, e] of Object.entries(stages)) {
          expect(back.stages[name]!.outs).toEqual(e.outs);
          expect(back.stages[name]!.deps).toEqual(e.deps);
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('any text either parses or throws a RallycutError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 120 }),
          fc
            .array(
              fc.constantFrom(
                'schema: "1.0"',
                'stages:',
                '  a:',
                '    deps: []',
                '    outs: [x]',
                '    cmd: [a]',
                '      - path: a',
                '        sha256: x',
                '\t',
                '{',
                '-',
              ),
              { maxLength: 10 },
            )
            .map((l) => l.join('\n')),
        ),
        (text) => {
          try {
            parseLock(text);
          } catch (err) {
            expect(err).toBeInstanceOf(RallycutError);
          }
        },
      ),
      { numRuns: 500, seed: 11 },
    );
  });
});
