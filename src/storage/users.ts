import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { runVirsh } from '../libvirt/index.js';
import { parseDomstatsRecords } from '../libvirt/parse/domstats.js';
import { describeDefinedDomains } from '../libvirt/domains/inventory.js';
import { stateOfDomstats, type VmState } from '../libvirt/domains/states.js';
import { uriFor, type Driver } from '../libvirt/domains/connections.js';

// Which defined VMs use which volume path: QEMU disks (backing chains included, so a
// template under a running clone counts) and LXC root directories. One virsh process
// for QEMU (domstats reports the disks of inactive domains too); the LXC driver has no
// domstats, so its containers are listed and then described in one batch.

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

/** Users of each path, keyed by canonical path. */
export async function volumeUsage(config: HvConfig, signal?: AbortSignal): Promise<Map<string, VolumeUser[]>> {
  const [qemu, lxc] = await Promise.all([
    runVirsh(['domstats', '--raw', '--state', '--block', '--backing'], { uri: uriFor(config, 'qemu'), ...(signal && { signal }) }).then(qemuDiskUsers),
    lxcUsers(config, signal),
  ]);
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
