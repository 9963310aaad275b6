// Compiled ajv validators, cached as generated source under <cache>/validators/. Compiling the pipeline
// schema takes ~100 ms of CPU, most of a no-op `repro`; loading the cached source takes ~2 ms. ajv
// itself is imported only on a cache miss. The source is run, so it is sealed (cache/seal.ts): a file this
// user's rallycut did not write (committed to a repo, dropped in a shared cache) is never executed.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Options, ValidateFunction } from 'ajv';
import { seal, unseal } from '../cache/seal.js';
import { writeFileAtomic } from '../fsutil.js';

const require = createRequire(import.meta.url);
const AJV_VERSION = (require('ajv/package.json') as { version: string }).version;
const memory = new Map<string, Promise<ValidateFunction>>();

/** A validator for `schema`; `cacheDir` (optional) keeps the generated code between processes. */
export function cachedValidator(schema: object, options: Options, cacheDir: string | undefined): Promise<ValidateFunction> {
  const key = createHash('sha256').update(JSON.stringify({ schema, options, AJV_VERSION })).digest('hex').slice(0, 32);
  let found = memory.get(key);
  if (!found) {
    found = load(key, schema, options, cacheDir);
    memory.set(key, found);
    found.catch(() => memory.delete(key));
  }
  return found;
}

async function load(key: string, schema: object, options: Options, cacheDir: string | undefined): Promise<ValidateFunction> {
  const file = cacheDir ? join(cacheDir, 'validators', `${key}.cjs`) : undefined;
  if (file) {
    const stored = await fs.readFile(file, 'utf8').catch(() => undefined);
    const source = stored === undefined ? undefined : await unseal(stored);
    if (source !== undefined) {
      try {
        return instantiate(source);
      } catch {
        // A damaged cache file: compile again below and overwrite it.
      }
    }
  }
  const [{ Ajv }, standalone] = await Promise.all([import('ajv'), import('ajv/dist/standalone/index.js')]);
  const ajv = new Ajv({ ...options, code: { ...(options.code ?? {}), source: true } });
  const validate = ajv.compile(schema);
  const sealed = file ? await seal(standaloneFn(standalone)(ajv, validate)) : undefined;
  if (file && sealed !== undefined) {
    try {
      await writeFileAtomic(file, sealed);
    } catch {
      // The cache is an optimisation; a read-only cache folder must not break loading.
    }
  }
  return validate;
}

type Generate = (ajv: unknown, validate: ValidateFunction) => string;

/** ajv's standalone module is CommonJS with a `default` export; ESM interop may wrap it once more. */
function standaloneFn(mod: unknown): Generate {
  const outer = (mod as { default?: unknown }).default;
  const fn = typeof outer === 'function' ? outer : (outer as { default?: unknown } | undefined)?.default;
  if (typeof fn !== 'function') throw new Error('ajv standalone generator not found');
  return fn as Generate;
}

function instantiate(source: string): ValidateFunction {
  const module: { exports: unknown } = { exports: {} };
  // The source is what ajv's standalone generator wrote for our own schemas, sealed by this user (see load).
  new Function('require', 'module', 'exports', source)(require, module, module.exports);
  if (typeof module.exports !== 'function') throw new Error('cached validator has no export');
  return module.exports as ValidateFunction;
}
