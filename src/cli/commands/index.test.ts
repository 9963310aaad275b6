import { describe, expect, it } from 'vitest';
import { engineCommands, engineCommandTable } from './index.js';

const noRegistry = { get: async () => undefined, names: async () => [] };

describe('the lazy engine command table', () => {
  it('lists exactly the commands the modules define, each loading its own spec', async () => {
    const specs = await engineCommands(noRegistry);
    const table = engineCommandTable(noRegistry);
    expect(table.map((c) => c.path.join(' ')).sort()).toEqual(specs.map((c) => c.path.join(' ')).sort());
    for (const entry of table) {
      const spec = await entry.load();
      expect(spec.path).toEqual(entry.path);
      expect(spec.summary).toBe(specs.find((s) => s.path.join(' ') === entry.path.join(' '))?.summary);
    }
  });
});
