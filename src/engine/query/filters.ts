/**
 * Filters as the Docker Engine API takes them: the `filters` query parameter is a JSON map
 * from a filter name to its values (`{"status":["exited"],"label":["tier=db"]}`). Every front
 * end hands the engine this shape: the CLI turns `--filter KEY=VALUE` into it, the API server
 * passes the parsed parameter through.
 */
export type FilterArgs = Record<string, string[]>;

/** Each (key, value) pair, in the order given: what the engine's filters test one by one. */
export function filterPairs(filters: FilterArgs | undefined): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [key, values] of Object.entries(filters ?? {})) for (const v of values) pairs.push([key, v]);
  return pairs;
}

/** Adds one value under `key` (the CLI's repeated `--filter`, in order). */
export function addFilter(filters: FilterArgs, key: string, value: string): FilterArgs {
  (filters[key] ??= []).push(value);
  return filters;
}

/** "KEY=VALUE" or, for a label filter's value, "KEY" alone: [key, value or undefined]. */
export function splitLabel(value: string): [string, string | undefined] {
  const i = value.indexOf('=');
  return i < 0 ? [value, undefined] : [value.slice(0, i), value.slice(i + 1)];
}
