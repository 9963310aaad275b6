// Dotted-path access to params values ('train.lr', 'sizes.0'). Free of YAML so the no-op path can use it.

export function splitKey(key: string): (string | number)[] {
  return key.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export type Found = { found: true; value: unknown } | { found: false; missing: string };

/** Looks up a dotted path ('train.lr', 'sizes.0'); `missing` names the first absent prefix. */
export function getParam(values: unknown, key: string): Found {
  let cur = values;
  const parts = key.split('.');
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, seg)) cur = (cur as Record<string, unknown>)[seg];
    else return { found: false, missing: parts.slice(0, i + 1).join('.') };
  }
  return { found: true, value: cur };
}

export function setParam(values: unknown, key: string, value: unknown): boolean {
  const parts = key.split('.');
  let cur = values;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = getParam(cur, parts[i]!);
    if (!next.found) return false;
    cur = next.value;
  }
  const last = parts[parts.length - 1]!;
  if (!getParam(cur, last).found) return false;
  if (Array.isArray(cur)) cur[Number(last)] = value;
  else (cur as Record<string, unknown>)[last] = value;
  return true;
}
