// Records keyed by names users choose (stages, remotes): with no prototype, `constructor`, `toString` or
// `__proto__` are ordinary keys, never inherited members that look present or break assignment.

/** A null-prototype copy of `from` (entries or a record). */
export function dict<T>(from: Iterable<readonly [string, T]> | Readonly<Record<string, T>> = []): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  const entries = Symbol.iterator in from ? (from as Iterable<readonly [string, T]>) : Object.entries(from as Record<string, T>);
  for (const [k, v] of entries) out[k] = v;
  return out;
}
