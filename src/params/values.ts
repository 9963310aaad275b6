// A params file's values for fingerprinting (session.loadParams) through the parse cache: on a no-op run
// an unchanged params file is neither parsed nor is `yaml` loaded. Parsing itself is params.ts.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { RallycutError } from '../diagnostics.js';
import type { ParamOverride } from './params.js';
import { cachedParse } from '../parsed-cache.js';

/** The file's values (overrides applied); throws the parser's positioned diagnostics when it is broken. */
export async function readParamsValues(root: string, file: string, overrides: readonly ParamOverride[], cacheDir: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(join(root, file), 'utf8');
  } catch {
    // Unreadable: the loader words the error (and reads again, as it always did).
    const result = await new (await import('./params.js')).ParamsLoader(root, overrides).load(file);
    if (!result.ok) throw new RallycutError(result.diagnostics);
    return result.params.values;
  }
  return cachedParse<unknown>({
    cacheDir,
    kind: 'params',
    slot: [root, file],
    inputs: [text],
    // Overridden values (exp runs) are not stored: they belong to one run, not to the file.
    cacheable: !overrides.some((o) => o.file === file),
    async parse() {
      const result = (await import('./params.js')).parseParamsText(file, text, overrides);
      if (!result.ok) throw new RallycutError(result.diagnostics);
      return { value: result.params.values };
    },
    revive: (record) => record,
  });
}
