import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HvConfig } from '../config/schema.js';
import { runVirsh, runVirshBatch, VirshError } from '../libvirt/index.js';
import { parseDomainXml } from '../vm/domain-parse.js';
import { stateOf, uriFor, type Driver, type VmState } from '../vm/hypervisor.js';

// Which defined VMs use which volume path: QEMU disks (backing chains included, so a
// template under a running clone counts) and LXC root directories. One virsh process
// for QEMU (domstats reports the disks of inactive domains too); the LXC driver has no
// domstats, so its containers are listed and then described in one batch.

export interface VolumeUser {
  vm: string;
  driver: Driver;
  state: VmState;
}

const DOMSTATS_STATE: Record<string, VmState> = { '1': 'running', '2': 'running', '3': 'paused', '5': 'shutoff' };

/** `virsh domstats --raw` output: each domain's name and its key=value lines. */
export function parseDomstatsRecords(text: string): Array<{ name: string; stats: Record<string, string> }> {
  const records: Array<{ name: string; stats: Record<string, string> }> = [];
  for (const line of text.split('\n')) {
    const domain = /^Domain: '(.*)'$/.exec(line);
    if (domain) {
      records.push({ name: domain[1]!, stats: {} });
      continue;
    }
    const pair = /^\s+([a-z0-9_.]+)=(.*)$/.exec(line);
    if (pair && records.length > 0) records.at(-1)!.stats[pair[1]!] = pair[2]!;
  }
  return records;
}

/** Every path each defined QEMU domain uses (its disks and their backing files). */
export function qemuDiskUsers(domstats: string): Array<VolumeUser & { paths: string[] }> {
  return parseDomstatsRecords(domstats).map(({ name, stats }) => ({
    vm: name,
    driver: 'qemu' as const,
    state: DOMSTATS_STATE[stats['state.state'] ?? ''] ?? 'other',
    paths: Object.entries(stats)
      .filter(([key]) => /^block\.\d+\.path$/.test(key))
      .map(([, path]) => path),
  }));
}

async function lxcUsers(uri: string, signal?: AbortSignal): Promise<Array<VolumeUser & { paths: string[] }>> {
  let names: string[];
  try {
    names = (await runVirsh(['list', '--all', '--name'], { uri, ...(signal && { signal }) })).split('\n').map((line) => line.trim()).filter(Boolean);
  } catch (error) {
    // A host without a working LXC driver has no containers.
    if (error instanceof VirshError && error.code === 'HYPERVISOR_UNREACHABLE') return [];
    throw error;
  }
  const results = await runVirshBatch(names.flatMap((name) => [['domstate', name], ['dumpxml', name]]), { uri, ...(signal && { signal }) });
  return names.flatMap((name, i) => {
    const [state, xml] = [results[2 * i], results[2 * i + 1]];
    if (!state || !xml || state.error || xml.error) return [];
    const domain = parseDomainXml(xml.stdout);
    const paths = [...domain.filesystems.map((fs) => fs.source), ...domain.disks.map((disk) => disk.source)].filter((path): path is string => path !== null);
    return [{ vm: name, driver: 'lxc' as const, state: stateOf(state.stdout), paths }];
  });
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
    lxcUsers(uriFor(config, 'lxc'), signal),
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
