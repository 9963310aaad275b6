// One paginated listing of a remote prefix, as key → size: how push, pull and list-remote learn what the
// remote holds without a HEAD request per object.
import type { Remote } from '../../../src/handler.js';

export async function listSizes(remote: Remote, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const o of remote.list(prefix)) out.set(o.key, o.size);
  return out;
}
