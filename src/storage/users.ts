import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { runVirsh } from '../libvirt/index.js';
import { parseDomstatsRecords } from '../libvirt/parse/domstats.js';
import { describeDefinedDomains } from '../libvirt/domains/inventory.js';
import { stateOfDomstats, type VmState } from '../libvirt/domains/states.js';
import { uriFor, type Driver } from '../libvirt/domains/connections.js';
import { openNoFollow, readQcow2Header } from './qcow2-header.js';

// Which defined VMs use which volume path: QEMU disks with their whole backing chains (so a
// template under a clone counts) and LXC root directories. One virsh process for QEMU
// (domstats reports the disks of inactive domains too, but the backing chain only of running
// ones: the rest of each chain is read from the qcow2 headers, no process); the LXC driver
// has no domstats, so its containers are listed and then described in one batch.

export interface VolumeUser {
  vm: string;
  driver: Driver;
  state: VmState;
}

/** Every path each defined QEMU domain uses (its disks and their backing files). */
export function qemuDiskUsers(domstats: string): Array<VolumeUser & { paths: string[] }> {
  return parseDomstatsRecords(domstats).map(({ name, stats }) => ({
    vm: name,
    driver: 'qemu' as const,
    state: stateOfDomstats(stats.get('state.state')),
    paths: [...stats].filter(([key]) => /^block\.\d+\.path$/.test(key)).map(([, path]) => path),
  }));
}

async function lxcUsers(config: HvConfig, signal?: AbortSignal): Promise<Array<VolumeUser & { paths: string[] }>> {
  return (await describeDefinedDomains(config, 'lxc', signal)).map(({ name, state, domain }) => ({
    vm: name,
    driver: 'lxc' as const,
    state,
    paths: [...domain.filesystems.map((fs) => fs.source), ...domain.disks.map((disk) => disk.source)].filter((path): path is string => path !== null),
  }));
}

/** The canonical form volume paths are compared in (pools report real paths). */
export function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** A chain longer than this is not followed further (qemu-img refuses far shorter loops). */
const MAX_CHAIN = 32;

/**
 * The backing files below `path`, read from the qcow2 headers (a file that is not qcow2, or
 * cannot be read, ends the chain). `known` caches what each file is backed by, across calls:
 * a hundred clones of one template read its header once.
 */
export async function backingChain(path: string, known = new Map<string, Promise<string | null>>()): Promise<string[]> {
  const chain: string[] = [];
  let current = path;
  while (chain.length < MAX_CHAIN) {
    let next = known.get(current);
    if (!next) {
      next = backingOf(current);
      known.set(current, next);
    }
    const backing = await next;
    if (backing === null || chain.includes(backing) || backing === path) break;
    chain.push(backing);
    current = backing;
  }
  return chain;
}

async function backingOf(path: string): Promise<string | null> {
  try {
    const handle = await openNoFollow(canonicalPath(path));
    try {
      const backing = (await readQcow2Header(handle))?.backing ?? null;
      // Relative names are relative to the image's directory; a protocol (nbd:, json:) is not a file here.
      if (backing === null || (!isAbsolute(backing) && backing.includes(':'))) return null;
      return isAbsolute(backing) ? backing : resolve(dirname(path), backing);
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
}

/** Users of each path, keyed by canonical path. */
export async function volumeUsage(config: HvConfig, signal?: AbortSignal): Promise<Map<string, VolumeUser[]>> {
  const [qemu, lxc] = await Promise.all([
    runVirsh(['domstats', '--raw', '--state', '--block', '--backing'], { uri: uriFor(config, 'qemu'), ...(signal && { signal }) }).then(qemuDiskUsers),
    lxcUsers(config, signal),
  ]);
  const known = new Map<string, Promise<string | null>>();
  await Promise.all(qemu.map(async (user) => (user.paths = [...user.paths, ...(await Promise.all(user.paths.map((path) => backingChain(path, known)))).flat()])));
  const usage = new Map<string, VolumeUser[]>();
  for (const { paths, ...user } of [...qemu, ...lxc]) {
    for (const path of new Set(paths.map(canonicalPath))) {
      const users = usage.get(path) ?? [];
      if (!users.some((known) => known.vm === user.vm && known.driver === user.driver)) users.push(user);
      usage.set(path, users);
    }
  }
  return usage;
}

/** Defined VMs (both connections) using each volume path, by canonical path. */
export async function volumeUsers(config: HvConfig, signal?: AbortSignal): Promise<Map<string, string[]>> {
  const usage = await volumeUsage(config, signal);
  return new Map([...usage].map(([path, users]) => [path, users.map((user) => user.vm)]));
}
