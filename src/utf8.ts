// Configuration text must be UTF-8: Node's usual decoding replaces invalid bytes with U+FFFD without a
// word, so a damaged pipeline.yaml would run with different text than the file holds.
import { configError, type RallycutError } from './diagnostics.js';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of `bytes`, or a config error at the line:column of the first invalid byte. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    throw invalidUtf8(bytes, file);
  }
}

function invalidUtf8(bytes: Uint8Array, file: string): RallycutError {
  const lossy = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let offset = 0;
  let line = 1;
  let column = 1;
  for (const ch of lossy) {
    const cp = ch.codePointAt(0)!;
    // A real U+FFFD in the file is EF BF BD; any other one stands for the invalid bytes.
    if (cp === 0xfffd && !(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) break;
    offset += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (ch === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  const shown = [...bytes.subarray(offset, offset + 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return configError(`${file} is not valid UTF-8: invalid byte sequence (${shown}) at byte ${offset}`, {
    file,
    start: { line, column },
    notes: ['save the file as UTF-8'],
  });
}
