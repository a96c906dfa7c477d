import { parseKeyValueLines, requireInteger, VirshParseError } from './key-value-lines.js';

/** `virsh freecell --all`: free memory per NUMA cell and in total, in KiB. */
export interface FreeCells {
  readonly cells: ReadonlyMap<number, number>;
  readonly totalKiB: number;
}

export function parseFreecellAll(text: string): FreeCells {
  const cells = new Map<number, number>();
  let totalKiB: number | undefined;
  for (const line of text.split('\n')) {
    const cell = /^\s*(\d+):\s+(\d+) KiB\s*$/.exec(line);
    if (cell) {
      cells.set(Number(cell[1]), Number(cell[2]));
      continue;
    }
    const total = /^\s*Total:\s+(\d+) KiB\s*$/.exec(line);
    if (total) totalKiB = Number(total[1]);
  }
  if (totalKiB === undefined) throw new VirshParseError('freecell --all', 'missing "Total:" line', text);
  return { cells, totalKiB };
}

/** `virsh nodememstats` (host-wide, from /proc/meminfo on Linux), in KiB. */
export interface NodeMemStats {
  readonly totalKiB: number;
  readonly freeKiB: number;
  readonly buffersKiB: number;
  readonly cachedKiB: number;
}

export function parseNodeMemStats(text: string): NodeMemStats {
  const fields = parseKeyValueLines(text);
  const int = (key: string): number => requireInteger(fields, key, 'nodememstats', text, 'KiB');
  return { totalKiB: int('total'), freeKiB: int('free'), buffersKiB: int('buffers'), cachedKiB: int('cached') };
}
