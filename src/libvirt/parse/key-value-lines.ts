/**
 * virsh prints most reports as "Label:   value" lines (nodeinfo, version, nodememstats).
 * Keys are returned lower-cased and trimmed; the first occurrence of a key wins.
 */
export function parseKeyValueLines(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(key)) fields.set(key, line.slice(colon + 1).trim());
  }
  return fields;
}

export class VirshParseError extends Error {
  constructor(what: string, problem: string, text: string) {
    super(`cannot parse virsh ${what}: ${problem}; output was: ${JSON.stringify(text.slice(0, 500))}`);
    this.name = 'VirshParseError';
  }
}

/** Reads "<integer> <unit>" (e.g. "4679896 KiB", "2596 MHz"), or throws VirshParseError. */
export function requireInteger(
  fields: Map<string, string>,
  key: string,
  what: string,
  text: string,
  unit?: string,
): number {
  const raw = fields.get(key);
  if (raw === undefined) throw new VirshParseError(what, `missing "${key}"`, text);
  const match = /^(\d+)(?:\s+(\S+))?$/.exec(raw);
  if (!match || (unit !== undefined && match[2] !== unit)) {
    throw new VirshParseError(what, `"${key}" is ${JSON.stringify(raw)}, expected an integer${unit ? ` in ${unit}` : ''}`, text);
  }
  return Number(match[1]);
}
