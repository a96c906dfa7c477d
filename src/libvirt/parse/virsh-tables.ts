/**
 * Small virsh reports that are neither "Label: value" nor domstats: the `list --all`
 * table, and the "name value" lines of dommemstat, domblkstat and domifstat.
 */

/** libvirt's state words as `virsh list` prints them (virshDomainStateToString). */
const LIST_STATES = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];
const LIST_ROW = new RegExp(`^\\s*(\\d+|-)\\s+(.+?)\\s+(${LIST_STATES.join('|')})\\s*$`);

export interface ListedDomain {
  readonly name: string;
  /** As virsh prints it, e.g. "running", "shut off". */
  readonly state: string;
}

/** `virsh list --all`: names may hold blanks, so each row is read from both ends. */
export function parseListAll(text: string): ListedDomain[] {
  return text.split('\n').flatMap((line) => {
    const row = LIST_ROW.exec(line);
    return row ? [{ name: row[2]!, state: row[3]! }] : [];
  });
}

/**
 * "name value" lines, the name possibly after a device ("vnet0 rx_bytes 620",
 * " rd_req 0", "actual 131072"): the last two words of each line count.
 */
export function parseCounterLines(text: string): Map<string, number> {
  const counters = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /(\S+)\s+(-?\d+)\s*$/.exec(line);
    if (match) counters.set(match[1]!, Number(match[2]));
  }
  return counters;
}

/** `virsh cpu-stats --total`: "cpu_time 0.027754491 seconds" → nanoseconds. */
export function parseCpuStatsTotalNs(text: string): number | null {
  const match = /^\s*cpu_time\s+(\d+)\.(\d{1,9})\s+seconds/m.exec(text);
  if (!match) return null;
  return Number(match[1]) * 1e9 + Number(match[2]!.padEnd(9, '0'));
}
