// `--executor` placement: parsing, which stages a blanket choice moves, per-stage choices winning, and
// stage names that are Object.prototype members.
import { describe, expect, it } from 'vitest';
import { RallycutError } from '../diagnostics.js';
import type { RegisteredHandler } from '../handler.js';
import type { Stage } from '../pipeline/types.js';
import type { Executor } from './executor.js';
import { checkPlacementStages, parsePlacement, placeStage, placementFromJson } from './placement.js';

const KNOWN = ['local', 'modal'];

function stage(name: string, kind: 'cmd' | 'handler', executor = 'local'): Stage {
  const action = kind === 'cmd' ? { kind: 'cmd', commands: ['true'] } : { kind: 'handler', handler: 'h', with: {} };
  return { name, action, executor: { name: executor, options: {} } } as unknown as Stage;
}

const remote: Executor = { name: 'modal', accepts: (s, h) => s.action.kind === 'cmd' || h?.remoteJob !== undefined, run: async () => undefined };
const lookup = (n: string): Executor | undefined => (n === 'modal' ? remote : undefined);
const plain = {} as RegisteredHandler;
const describing = { remoteJob: async () => ({}) } as unknown as RegisteredHandler;

describe('--executor placement', () => {
  it('parses NAME and STAGE=NAME; refuses unknown executors, empty stage names and contradictions (config errors)', () => {
    expect(parsePlacement(['modal', 'prep=local'], KNOWN)).toEqual({ all: 'modal', stages: { prep: 'local' } });
    const err = (specs: string[]): string => {
      try {
        parsePlacement(specs, KNOWN);
      } catch (e) {
        expect(e).toBeInstanceOf(RallycutError);
        expect((e as RallycutError).diagnostics[0]!.kind).toBe('config');
        return (e as RallycutError).diagnostics[0]!.message;
      }
      return 'no error';
    };
    expect(err(['gpu'])).toBe("--executor 'gpu': unknown executor 'gpu'");
    expect(err(['=modal'])).toBe("--executor '=modal': no stage name before '='");
    expect(err(['modal', 'local'])).toBe("--executor given twice for all stages ('modal' and 'local')");
    expect(err(['a=modal', 'a=local'])).toBe("--executor given twice for stage 'a'");
  });

  it('a blanket choice moves the stages the executor accepts and leaves the others, saying why', () => {
    const p = parsePlacement(['modal'], KNOWN);
    expect(placeStage(p, stage('a', 'cmd'), undefined, lookup)).toEqual({ name: 'modal', note: 'executor modal (--executor modal; pipeline.yaml says local)' });
    expect(placeStage(p, stage('b', 'handler'), describing, lookup).name).toBe('modal');
    expect(placeStage(p, stage('c', 'handler'), plain, lookup)).toEqual({
      name: 'local',
      note: 'executor local: --executor modal does not apply to this stage (modal cannot run it)',
    });
    expect(placeStage(p, stage('d', 'cmd', 'modal'), undefined, lookup)).toEqual({ name: 'modal' });
    expect(placeStage(undefined, stage('e', 'cmd', 'modal'), undefined, lookup)).toEqual({ name: 'modal' });
  });

  it('a per-stage choice wins over the blanket one; stage names like constructor are ordinary', () => {
    const p = parsePlacement(['modal', 'a=local'], KNOWN);
    expect(placeStage(p, stage('a', 'cmd'), undefined, lookup)).toEqual({ name: 'local' });
    expect(placeStage(p, stage('constructor', 'cmd'), undefined, lookup).name).toBe('modal');
    const only = parsePlacement(['toString=modal'], KNOWN);
    expect(placeStage(only, stage('toString', 'cmd'), undefined, lookup).name).toBe('modal');
    expect(placeStage(only, stage('valueOf', 'cmd'), undefined, lookup)).toEqual({ name: 'local' });
    expect(() => checkPlacementStages(only, ['toString'])).not.toThrow();
    expect(() => checkPlacementStages(parsePlacement(['trian=modal'], KNOWN), ['prep', 'train'])).toThrow(
      "--executor names stage 'trian' that the pipeline does not have",
    );
  });

  it("a record's placement is checked like other data read from disk", () => {
    expect(placementFromJson({ all: 'modal', stages: { train: 'local' } }, KNOWN)).toEqual({ all: 'modal', stages: { train: 'local' } });
    expect(placementFromJson({ all: 'rm -rf', stages: {} }, KNOWN)).toBe('placement names an unknown executor "rm -rf"');
    expect(placementFromJson({ stages: { a: 3 } }, KNOWN)).toBe('placement names an unknown executor 3');
    expect(placementFromJson([], KNOWN)).toBe('placement is not an object');
  });
});
