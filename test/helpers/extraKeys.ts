/**
 * For schema tests at the privacy boundary: every object inside a JSON value, and a copy with one key slipped into one
 * of them, so a test can try an extra key at every level of a valid message or report and expect each refused.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every object inside `value` (itself included), by its path of keys and indices. */
export function objectPaths(value: Json, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((item, index) => objectPaths(item, [...at, index]));
  if (value === null || typeof value !== 'object') return [];
  return [at, ...Object.entries(value).flatMap(([key, child]) => objectPaths(child, [...at, key]))];
}

/** A deep copy of `value` with `key: extra` added to the object at `path`. */
export function withExtraKey(value: Json, path: (string | number)[], key: string, extra: Json): Json {
  const copy = structuredClone(value);
  let node = copy as Record<string | number, Json>;
  for (const step of path) node = node[step] as Record<string | number, Json>;
  node[key] = extra;
  return copy;
}
