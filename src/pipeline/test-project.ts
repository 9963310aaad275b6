// Test helper (not shipped in the CLI path): temp projects and the diagnostics the loader throws.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RallycutError, type Diagnostic } from '../diagnostics.js';
import { defineHandler, type HandlerRegistry, type RegisteredHandler } from '../handler.js';
import { loadPipeline, type LoadOptions } from './load.js';
import type { Pipeline } from './types.js';

export function writeProject(files: Readonly<Record<string, string>>, root = mkdtempSync(join(tmpdir(), 'rallycut-pipe-'))): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A registry with two small handlers whose `with:` schemas exercise required fields, types and defaults. */
export function testRegistry(): HandlerRegistry {
  const handlers: RegisteredHandler[] = [
    defineHandler<{ name: string; limit: number; tags?: string[] }>({
      name: 'export-dataset',
      summary: 'test handler',
      schema: {
        type: 'object',
        properties: { name: { type: 'string' }, limit: { type: 'integer', default: 10 }, tags: { type: 'array', items: { type: 'string' } } },
        required: ['name'],
        additionalProperties: false,
      },
      async run() {},
    }),
    defineHandler<Record<string, never>>({ name: 'evaluate', summary: 'test handler', schema: { type: 'object' }, async run() {} }),
  ];
  return {
    get: async (name) => handlers.find((h) => h.name === name),
    names: async () => handlers.map((h) => h.name).sort(),
  };
}

export async function load(root: string, opts: LoadOptions = {}): Promise<Pipeline> {
  return loadPipeline(root, testRegistry(), opts);
}

/** The diagnostics a load throws (fails the test if it does not throw a RallycutError). */
export async function loadErrors(root: string, opts: LoadOptions = {}): Promise<Diagnostic[]> {
  try {
    await load(root, opts);
  } catch (err) {
    if (err instanceof RallycutError) return err.diagnostics;
    throw err;
  }
  throw new Error('expected the pipeline to be rejected');
}

/** `file:line:col message`, the shape a user reads. */
export function where(d: Diagnostic): string {
  return `${d.file}:${d.start?.line}:${d.start?.column} ${d.message}`;
}
