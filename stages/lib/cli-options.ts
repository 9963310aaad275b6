// CLI options with one meaning on every domain command.
import type { OptionSpec } from '../../src/handler.js';

/** `--json` prints the command's result as JSON on stdout (and a failure as { ok: false, errors }); it never names a file. */
export const JSON_OPTION: OptionSpec = { name: 'json', type: 'boolean', description: 'Print the result as JSON on stdout' };
