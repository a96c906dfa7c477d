/**
 * `virsh domstats --raw` prints, per domain, a "Domain: 'NAME'" line followed by indented
 * "key=value" lines (e.g. "  block.0.rd.bytes=4608"). Values stay strings here: what each
 * key means is the caller's business.
 */
export interface DomainStatsRecord {
  readonly name: string;
  readonly stats: ReadonlyMap<string, string>;
}

export function parseDomstatsRecords(text: string): DomainStatsRecord[] {
  const records: DomainStatsRecord[] = [];
  let stats: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    // Names may hold quotes: the line ends with the closing one.
    const domain = /^Domain: '(.*)'$/.exec(line);
    if (domain) {
      stats = new Map();
      records.push({ name: domain[1]!, stats });
      continue;
    }
    const equals = line.indexOf('=');
    if (stats && equals > 0 && /^\s/.test(line)) stats.set(line.slice(0, equals).trim(), line.slice(equals + 1));
  }
  return records;
}
