import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

// Free memory without a process, where libvirt would read the same files: the QEMU and LXC
// drivers answer `nodememstats` from /proc/meminfo and `freecell` from
// /sys/devices/system/node/node<N>/meminfo (libnuma) of the machine libvirtd runs on. A
// connection that names no host (qemu:///system, qemu+unix:///…?socket=…, qemu:///embed…)
// runs on this machine: hvagent runs on the host it manages. Any other (test://, a remote
// host) is asked through virsh.

/** KiB, as libvirt reports them. */
export interface FreeMemoryKiB {
  readonly totalKiB: number;
  readonly freeKiB: number;
  /** Free KiB per NUMA cell id; a cell whose figure cannot be read is absent. */
  readonly cells: ReadonlyMap<number, number>;
}

export function connectionIsOnThisMachine(uri: string): boolean {
  const match = /^([a-z0-9]+)(?:\+([a-z0-9]+))?:\/\/([^/]*)\//i.exec(uri);
  if (!match) return false;
  const [, driver, transport, authority] = match;
  return ['qemu', 'lxc'].includes(driver!.toLowerCase()) && authority === '' && (transport === undefined || transport.toLowerCase() === 'unix');
}

export interface LocalMemoryPaths {
  readonly meminfo: string;
  readonly nodeDir: string;
}

const SYSTEM_PATHS: LocalMemoryPaths = { meminfo: '/proc/meminfo', nodeDir: '/sys/devices/system/node' };

/**
 * procfs and sysfs are read synchronously on purpose: they never wait for a disk, and an
 * asynchronous read would take four trips through libuv's thread pool per file.
 */
export function readLocalFreeMemory(cellIds: readonly number[], paths: LocalMemoryPaths = SYSTEM_PATHS): FreeMemoryKiB {
  const meminfo = readFresh(paths.meminfo);
  if (meminfo === undefined) throw new Error(`${paths.meminfo} cannot be read`);
  const totalKiB = kibField(meminfo, /^MemTotal:\s+(\d+) kB$/m, paths.meminfo);
  const freeKiB = kibField(meminfo, /^MemFree:\s+(\d+) kB$/m, paths.meminfo);
  const cells = new Map<number, number>();
  for (const id of cellIds) {
    const text = readFresh(`${paths.nodeDir}/node${id}/meminfo`);
    const free = text === undefined ? undefined : /^Node \d+ MemFree:\s+(\d+) kB$/m.exec(text)?.[1];
    if (free !== undefined) cells.set(id, Number(free));
    // A kernel without NUMA sysfs has one cell: libvirt then reports the host's free memory for it.
    else if (text === undefined && cellIds.length === 1) cells.set(id, freeKiB);
  }
  return { totalKiB, freeKiB, cells };
}

function kibField(text: string, pattern: RegExp, path: string): number {
  const match = pattern.exec(text);
  if (!match) throw new Error(`${path} has no ${pattern.source.slice(1, pattern.source.indexOf(':'))} line`);
  return Number(match[1]);
}

// The files stay open: procfs and sysfs make a file's text anew on every read from offset 0,
// so one pread(2) per request reads the figures as of that request, without the open, fstat
// and close each of the server's `host info` requests paid (about half its cost of reading them).
const open = new Map<string, number>();
const buffer = Buffer.alloc(16 * 1024);

/** The file's whole text as of now; undefined when it cannot be read. */
function readFresh(path: string): string | undefined {
  let descriptor = open.get(path);
  try {
    if (descriptor === undefined) {
      descriptor = openSync(path, 'r');
      open.set(path, descriptor);
    }
    const length = readSync(descriptor, buffer, 0, buffer.length, 0);
    // Never so long on a kernel seen so far; if one is, it is read whole.
    return length < buffer.length ? buffer.toString('utf8', 0, length) : readFileSync(path, 'utf8');
  } catch {
    // Opened again next time: what failed may come back.
    if (descriptor !== undefined) {
      open.delete(path);
      closeQuietly(descriptor);
    }
    return undefined;
  }
}

function closeQuietly(descriptor: number): void {
  try {
    closeSync(descriptor);
  } catch {
    // already unusable
  }
}
