import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliMarkdown, cliTable, readmeWithTable } from './docs.js';
import { allCommands } from './main.js';

const root = join(import.meta.dirname, '..', '..');

describe('generated CLI docs', () => {
  it('docs/cli.md and the README command table match the command specs (run `npm run docs` when this fails)', () => {
    const commands = allCommands();
    expect(readFileSync(join(root, 'docs', 'cli.md'), 'utf8')).toBe(cliMarkdown(commands));
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toBe(readmeWithTable(readme, cliTable(commands)));
  });

  it('every command documents itself', () => {
    for (const c of allCommands()) {
      expect(c.summary.length, c.path.join(' ')).toBeGreaterThan(10);
      for (const o of c.options) expect(o.description.length, `${c.path.join(' ')} --${o.name}`).toBeGreaterThan(3);
    }
  });
});
