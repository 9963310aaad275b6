// Secrets never leave the process in what rallycut prints or stores: URL credentials (the password in the
// userinfo, secret-looking query parameters such as ?password=) and the values of secret environment
// variables. One redactor is built per environment and applied to error messages (the CLI's printer), to
// stage log lines (printed, and stored in run-cache records that `push --run-cache` uploads) and to the
// remote descriptions that name an endpoint.
import type { Diagnostic } from './diagnostics.js';

export const MASK = '***';

/** Variables whose whole value is a secret, whatever its length. */
const KNOWN_SECRETS = new Set(['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'APP_S3_SECRET_ACCESS_KEY', 'MODAL_TOKEN_ID', 'MODAL_TOKEN_SECRET', 'PGPASSWORD']);
/** Other variables named like a secret; their values count from this length (shorter ones are words, not keys). */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|KEY/i;
const MIN_SECRET_LENGTH = 8;
/** Shorter values are too likely to occur in ordinary text to be replaced everywhere (URLs are still masked). */
const MIN_REPLACED_LENGTH = 4;
/** Query parameters that carry credentials (libpq's ?password=, presigned URLs' signatures, tokens). */
const SECRET_PARAM = /pass|secret|token|key|signature|credential|auth/i;
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`\\]+/gi;
/** `NAME=value` as `env` prints it, for an upper-case NAME that looks secret. */
const SECRET_ASSIGNMENT = /\b([A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|KEY)[A-Z0-9_]*)=([^\s"'\\]+)/g;

/** The URL with its password and secret query parameters masked; `what` names it when it does not parse. */
export function redactUrl(url: string, what = 'URL'): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `(${what}, not a valid URL)`;
  }
  return hasUrlSecrets(u) ? maskUrl(u) : url;
}

function hasUrlSecrets(u: URL): boolean {
  if (u.password) return true;
  for (const name of u.searchParams.keys()) if (SECRET_PARAM.test(name)) return true;
  return false;
}

function maskUrl(u: URL): string {
  if (u.password) u.password = MASK;
  for (const name of [...u.searchParams.keys()]) if (SECRET_PARAM.test(name)) u.searchParams.set(name, MASK);
  return u.toString();
}

/** The secret parts of a URL-valued variable: its password and secret query values, as written and decoded. */
function urlSecrets(value: string): string[] {
  if (!value.includes('://')) return [];
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return [];
  }
  const found = u.password ? [u.password, safeDecode(u.password)] : [];
  for (const [name, v] of u.searchParams) if (SECRET_PARAM.test(name) && v) found.push(v, encodeURIComponent(v));
  return found;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The secret values in an environment, longest first (so a secret containing another is masked whole). */
export function secretValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (KNOWN_SECRETS.has(name) || (SECRET_NAME.test(name) && value.length >= MIN_SECRET_LENGTH)) found.add(value);
    for (const s of urlSecrets(value)) found.add(s);
  }
  return [...found].filter((s) => s.length >= MIN_REPLACED_LENGTH).sort((a, b) => b.length - a.length);
}

export type Redactor = (text: string) => string;

/** A function masking every secret of `env`, URL credentials and secret-looking assignments in a text. */
export function redactorFor(env: Readonly<Record<string, string | undefined>>): Redactor {
  const secrets = secretValues(env);
  return (text) => {
    let out = text;
    for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
    if (out.includes('://')) out = out.replace(URL_IN_TEXT, (m) => (m.includes('@') || m.includes('?') ? redactUrlInText(m) : m));
    if (out.includes('=')) out = out.replace(SECRET_ASSIGNMENT, (_m, name: string, value: string) => (value === MASK ? `${name}=${value}` : `${name}=${MASK}`));
    return out;
  };
}

/** Like redactUrl, but text that only looks like a URL stays as it is. */
function redactUrlInText(text: string): string {
  try {
    const u = new URL(text);
    return hasUrlSecrets(u) ? maskUrl(u) : text;
  } catch {
    return text;
  }
}

/** Diagnostics with every message, subject and note passed through the redactor. */
export function redactDiagnostics(list: readonly Diagnostic[], redact: Redactor): Diagnostic[] {
  return list.map((d) => ({
    ...d,
    message: redact(d.message),
    ...(d.subject !== undefined ? { subject: redact(d.subject) } : {}),
    ...(d.notes ? { notes: d.notes.map(redact) } : {}),
  }));
}
