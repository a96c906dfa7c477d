import { readFile } from 'node:fs/promises';

/** Host memory in MiB, from /proc/meminfo (no process; virsh nodememstats has no "available"). */
export interface HostMemory {
  readonly total_mb: number;
  /** MemFree: memory nobody uses, page cache not counted. */
  readonly free_mb: number;
  /** MemAvailable: the kernel's estimate of what can be given out without swapping (free + reclaimable cache). */
  readonly available_mb: number;
}

export function parseMeminfo(text: string): HostMemory {
  const kib = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!match) throw new Error(`no ${key} in /proc/meminfo`);
    return Number(match[1]);
  };
  return { total_mb: mib(kib('MemTotal')), free_mb: mib(kib('MemFree')), available_mb: mib(kib('MemAvailable')) };
}

export async function readHostMemory(path = '/proc/meminfo'): Promise<HostMemory> {
  return parseMeminfo(await readFile(path, 'utf8'));
}

function mib(kib: number): number {
  return Math.floor(kib / 1024);
}
