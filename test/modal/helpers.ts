// Shared by the tests that run handler stages on the FAKE of Modal's cloud (test/services/modal/).
import { existsSync, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { FakeModal } from '../services/modal/server.js';

export const REPO = resolve(import.meta.dirname, '..', '..');

/**
 * The fake, serving a Node image's npm packages from this checkout's node_modules, with its address and
 * token in process.env (the SDK reads them only there). A remote handler runs the bundled CLI, so dist/cli
 * must exist (`npm test` builds first).
 */
export async function startFakeForHandlers(): Promise<FakeModal> {
  if (!existsSync(join(REPO, 'dist', 'cli', 'rallycut.mjs'))) throw new Error('dist/cli is missing: run `npm run build` first');
  const fake = await FakeModal.start();
  fake.provideImageLayer('/opt/rallycut/node_modules', join(REPO, 'node_modules'), /npm install/);
  Object.assign(process.env, fake.env());
  return fake;
}

/** Every file under `dir` (none when it is missing), as base64 by relative path: for byte comparisons. */
export async function fileTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await fs.readdir(dir, { recursive: true }).catch(() => [])).map(String).sort()) {
    const p = join(dir, f);
    if ((await fs.stat(p)).isFile()) out[f] = (await fs.readFile(p)).toString('base64');
  }
  return out;
}

/** Environment that makes Modal unreachable and credentials absent. */
export const MODAL_OFF = { MODAL_SERVER_URL: 'http://127.0.0.1:9', MODAL_TOKEN_ID: '', MODAL_TOKEN_SECRET: '' };
