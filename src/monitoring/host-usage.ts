import type { HvConfig } from '../config/schema.js';
import { runVirsh, runVirshBatch, VirshError } from '../libvirt/index.js';
import { parseDomstatsRecords } from '../libvirt/parse/domstats.js';
import { parseFreecellAll } from '../libvirt/parse/free-memory.js';
import { parseListAll } from '../libvirt/parse/virsh-tables.js';
import { readConfiguredPools, type ConfiguredPoolUsage } from './configured-pools.js';
import { sampleCpu, type CpuUsage } from './cpu.js';
import { parsePoolNames, POOL_NAMES_COMMAND, readLibvirtPools, type LibvirtPoolUsage } from './libvirt-pools.js';
import { readHostMemory, type HostMemory } from './memory.js';
import { reconcileEmbedded } from '../libvirt/domains/locate.js';
import { stateOf, stateOfDomstats } from '../libvirt/domains/states.js';
import { countStates, type StateCounts } from './vm-states.js';

// `host usage` is polled every minute on every host, so it is built around its process
// count: one virsh on the QEMU connection (free memory per NUMA cell, pool names, VM
// states), one more only when libvirt pools exist (their sizes), one on the LXC
// connection (`list --all`: the LXC driver has no domstats). CPU and memory come from
// /proc, hvagent's own pools from statfs(2); all of it runs in parallel, inside the CPU
// sampling window.

export interface HostUsage {
  readonly cpu: CpuUsage;
  readonly memory: HostMemory;
  readonly numa: { id: number; free_mb: number }[];
  readonly vms: { qemu: StateCounts; lxc: StateCounts | null };
  readonly libvirt_pools: LibvirtPoolUsage[];
  readonly storage_pools: ConfiguredPoolUsage[];
}

export async function readHostUsage(config: HvConfig, cpuWindowMs: number, signal?: AbortSignal): Promise<HostUsage> {
  const [cpu, memory, qemu, lxc, storagePools] = await Promise.all([
    sampleCpu(cpuWindowMs, signal),
    readHostMemory(),
    readQemuSide(config.libvirt.uri, signal),
    countLxcStates(config.libvirt.lxc_uri, signal),
    readConfiguredPools(config.storage.pools),
  ]);
  return { cpu, memory, numa: qemu.numa, vms: { qemu: qemu.states, lxc }, libvirt_pools: qemu.pools, storage_pools: storagePools };
}

async function readQemuSide(uri: string, signal?: AbortSignal) {
  const options = { uri, ...(signal && { signal }) };
  const [freecell, poolNames, domstats] = await runVirshBatch([['freecell', '--all'], POOL_NAMES_COMMAND, ['domstats', '--raw', '--nowait', '--state']], options);
  // Drivers without per-cell figures (test://) report no cells rather than failing.
  const cells = freecell?.error ? [] : [...parseFreecellAll(freecell!.stdout).cells].map(([id, kib]) => ({ id, free_mb: Math.floor(kib / 1024) }));
  if (domstats?.error) throw domstats.error;
  const vms = parseDomstatsRecords(domstats!.stdout).map((record) => ({ name: record.name, state: stateOfDomstats(record.stats.get('state.state')) }));
  const names = poolNames?.error ? [] : parsePoolNames(poolNames!.stdout);
  const [states, pools] = await Promise.all([
    reconcileEmbedded(uri, vms, signal).then((reconciled) => countStates(reconciled.map((vm) => vm.state))),
    names.length > 0 ? readLibvirtPools(uri, names, signal) : [],
  ]);
  return { numa: cells.sort((a, b) => a.id - b.id), states, pools };
}

/** null when the LXC connection does not answer: a host may run QEMU guests only. */
async function countLxcStates(uri: string, signal?: AbortSignal): Promise<StateCounts | null> {
  try {
    const listed = parseListAll(await runVirsh(['list', '--all'], { uri, ...(signal && { signal }) }));
    return countStates(listed.map((domain) => stateOf(domain.state)));
  } catch (error) {
    if (error instanceof VirshError && error.code === 'HYPERVISOR_UNREACHABLE') return null;
    throw error;
  }
}
