// How a changed tool version reads in `status` and `repro` reasons. The lock keeps each handler's full
// version string (an `ffmpeg -version` banner line holds a build URL and a copyright); reasons show a
// short form: the handler's own description when it has one, else the version token of a
// "<name> version <token> …" line.

/** A handler's way to name one of its tool versions briefly, e.g. "4.1.0 (bundled)". */
export type VersionDescriber = (tool: string, version: string) => string | undefined;

const MAX_SHOWN = 40;

/** "5.1.6-0+deb12u1" of "ffmpeg version 5.1.6-0+deb12u1 Copyright (c) …"; other strings, cut to 40 characters. */
export function shortVersion(version: string): string {
  const token = /^\S+ version (\S+)/.exec(version)?.[1];
  if (token) return token;
  const line = version.trim().split('\n')[0] ?? '';
  return line.length > MAX_SHOWN ? `${line.slice(0, MAX_SHOWN - 1)}…` : line;
}

/** The reason for a tool whose version differs from the lock's: "tool ffmpeg 4.1.0 (bundled) → 5.1.9 (system)". */
export function toolVersionChange(tool: string, before: string | undefined, now: string | undefined, describe?: VersionDescriber): string {
  const shown = (v: string | undefined): string => (v === undefined ? 'none' : (describe?.(tool, v) ?? shortVersion(v)));
  return `tool ${tool} ${shown(before)} → ${shown(now)}`;
}
