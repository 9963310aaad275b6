// Sealed cache files. Some cache files are trusted as they are read back: the generated validator code
// (run with new Function) and the parse records (a pipeline record holds the commands repro runs). A repo
// can commit a .cache/ folder and a shared RALLYCUT_CACHE_DIR can be written by others, so such files carry
// an HMAC-SHA256 under a key only this user has (0600, outside every project), and anything whose seal does
// not verify is ignored and rebuilt. A content hash alone would not do: whoever writes the file can hash it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createExclusive, writeFileAtomic } from '../fsutil.js';

const SEAL_PREFIX = 'rallycut-seal:';
const MAC_HEX = 64;
const KEY_BYTES = 32;
const KEY_RE = /^[0-9a-f]{64}$/;

/** Where the key lives: $XDG_STATE_HOME/rallycut, else ~/.local/state/rallycut. */
export function sealKeyFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const state = env.XDG_STATE_HOME || (homedir() ? join(homedir(), '.local', 'state') : '');
  return state ? join(state, 'rallycut', 'cache-key') : undefined;
}

let cachedKey: { file: string | undefined; key: Promise<Buffer | undefined> } | undefined;

/** This user's key, created on first use; undefined when it can be neither read nor made (sealing is then off). */
function sealKey(): Promise<Buffer | undefined> {
  const file = sealKeyFile();
  if (!cachedKey || cachedKey.file !== file) cachedKey = { file, key: file ? readOrCreateKey(file) : Promise.resolve(undefined) };
  return cachedKey.key;
}

async function readOrCreateKey(file: string): Promise<Buffer | undefined> {
  const read = async (): Promise<Buffer | undefined> => {
    const hex = await fs.readFile(file, 'utf8').catch(() => '');
    return KEY_RE.test(hex) ? Buffer.from(hex, 'hex') : undefined;
  };
  const found = await read();
  if (found) return found;
  try {
    await fs.mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // Exclusive: of two first runs at once, one key wins and both use it. A damaged key is replaced.
    const key = randomBytes(KEY_BYTES).toString('hex');
    if (!(await createExclusive(file, key, 0o600)) && !(await read())) await writeFileAtomic(file, key);
    await fs.chmod(file, 0o600);
  } catch {
    return undefined; // the folder is not writable: sealing off
  }
  return read();
}

function mac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

/** `text` with its seal on a first line; undefined when there is no key (do not store it then). */
export async function seal(text: string): Promise<string | undefined> {
  const key = await sealKey();
  return key ? `${SEAL_PREFIX}${mac(key, text)}\n${text}` : undefined;
}

/** The text of a sealed file when its seal verifies under this user's key; otherwise undefined. */
export async function unseal(stored: string): Promise<string | undefined> {
  const key = await sealKey();
  const eol = SEAL_PREFIX.length + MAC_HEX;
  if (!key || !stored.startsWith(SEAL_PREFIX) || stored[eol] !== '\n') return undefined;
  const text = stored.slice(eol + 1);
  const given = Buffer.from(stored.slice(SEAL_PREFIX.length, eol), 'utf8');
  const expected = Buffer.from(mac(key, text), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected) ? text : undefined;
}
