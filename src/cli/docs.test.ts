import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliMarkdown, cliTable, readmeWithTable } from './docs.js';
import { engineCommandTable } from './commands/index.js';
import { allCommands } from './main.js';

const root = join(import.meta.dirname, '..', '..');

describe('generated CLI docs', () => {
  it('docs/cli.md and the README command table match the command specs (run `npm run docs` when this fails)', async () => {
    const commands = await allCommands();
    expect(readFileSync(join(root, 'docs', 'cli.md'), 'utf8')).toBe(cliMarkdown(commands));
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toBe(readmeWithTable(readme, cliTable(commands)));
  });

  it('every command documents itself', async () => {
    for (const c of await allCommands()) {
      expect(c.summary.length, c.path.join(' ')).toBeGreaterThan(10);
      for (const o of c.options) expect(o.description.length, `${c.path.join(' ')} --${o.name}`).toBeGreaterThan(3);
    }
  });

  it('no domain command shares its first word with an engine command (the CLI dispatches engine commands without loading stages/)', async () => {
    const noRegistry = { get: async () => undefined, names: async () => [] };
    const engineWords = new Set(engineCommandTable(noRegistry).map((c) => c.path[0]));
    const engineKeys = new Set(engineCommandTable(noRegistry).map((c) => c.path.join(' ')));
    const clashes = (await allCommands()).filter((c) => !engineKeys.has(c.path.join(' ')) && engineWords.has(c.path[0]));
    expect(clashes.map((c) => c.path.join(' '))).toEqual([]);
  });
});
