import { describe, expect, it } from 'vitest';
import { commandArgs, interpolateString, interpolateTyped, parseExpression, shellQuote } from './interpolate.js';

const ctx = { train: { lr: 0.01, layers: [64, 32], on: true }, name: "it's", empty: '' };

describe('interpolation', () => {
  it('parses dotted and indexed expressions', () => {
    expect(parseExpression(' train.layers[1] ')).toEqual(['train', 'layers', 1]);
    expect(parseExpression('a.b-c.0')).toEqual(['a', 'b-c', '0']);
    expect(parseExpression('a b')).toBeUndefined();
  });

  it('quotes for the shell only when needed, and escapes single quotes', () => {
    expect(shellQuote('abc-1.5/x')).toBe('abc-1.5/x');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
  });

  it('interpolates text, leaves \\${ literal and reports each problem once per occurrence', () => {
    expect(interpolateString('--lr ${train.lr} --n ${name} ${empty}', ctx, 'shell').value).toBe(`--lr 0.01 --n 'it'\\''s' ''`);
    expect(interpolateString('x ${train.layers[0]} \\${HOME} ${train.on}', ctx, 'none')).toEqual({ value: 'x 64 ${HOME} true', problems: [] });
    const r = interpolateString('${nope} ${nope} ${train}', ctx, 'none');
    expect(r.problems.map((p) => [p.expr, p.occurrence, p.message])).toEqual([
      ['${nope}', 0, "'nope' is not defined (in '${nope}')"],
      ['${nope}', 1, "'nope' is not defined (in '${nope}')"],
      ['${train}', 0, "'train' is an object and cannot be inserted into text"],
    ]);
  });

  it('keeps the type of a whole-string ${x}', () => {
    expect(interpolateTyped('${train.layers}', ctx).value).toEqual([64, 32]);
    expect(interpolateTyped('${train.lr}', ctx).value).toBe(0.01);
    expect(interpolateTyped('v${train.lr}', ctx).value).toBe('v0.01');
  });

  it('expands a mapping in cmd into --key value arguments (DVC test_cmd_dict, default parsing config)', () => {
    const opts = { foo: 'foo', bar: 2, string: 'spaced string', bool: true, 'bool-false': false, list: [1, 2, 'foo', 'quoted string'], nested: { foo: 'foo' } };
    expect(interpolateString('python script.py ${opts}', { opts }, 'shell')).toEqual({
      value: "python script.py --foo foo --bar 2 --string 'spaced string' --bool --list 1 2 foo 'quoted string' --nested.foo foo",
      problems: [],
    });
    expect(commandArgs({ evil: '$(touch x)', 'we ird': 1, none: [], off: false })).toBe("--evil '$(touch x)' '--we ird' 1");
    expect(commandArgs({ a: { b: [1, [2]] } })).toEqual({ problem: "'a.b' holds a nested list or mapping, or a null" });
    expect(commandArgs({ a: null })).toEqual({ problem: "'a' is null" });
    const r = interpolateString('run ${opts} ${list}', { opts: { a: null }, list: [1] }, 'shell');
    expect(r.problems.map((p) => p.message)).toEqual(["'opts' cannot be inserted into cmd: 'a' is null", "'list' is a list and cannot be inserted into text"]);
    // Elsewhere (paths, handler text) a mapping is still an error.
    expect(interpolateString('${opts}', { opts: { a: 1 } }, 'none').problems).toHaveLength(1);
  });
});
