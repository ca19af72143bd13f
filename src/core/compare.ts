/**
 * String order by UTF-16 code units, as Go's sort.Strings orders docker's listings. Not
 * String.prototype.localeCompare: its first call loads ICU's collator, about 7 ms of every
 * command's start, and the locale's order is not what docker prints anyway.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
