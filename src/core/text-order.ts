// Sorting by name without String.prototype.localeCompare: its first call builds ICU's
// collator and locale tables, ~68 million instructions (15-25 ms), more than the rest of a
// `vm list` after start-up (docs/PERFORMANCE.md, P4). Code-unit order is what `LC_ALL=C
// sort` gives: stable across hosts and locales, upper case before lower case.

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
