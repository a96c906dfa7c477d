import type { HvConfig } from '../config/schema.js';
import { runVirsh } from '../libvirt/virsh.js';
import { parseDomstatsRecords } from '../libvirt/parse/domstats.js';
import { describeDefinedDomains } from '../libvirt/domains/inventory.js';
import { reconcileEmbedded } from '../libvirt/domains/locate.js';
import { stateOfDomstats, type VmState } from '../libvirt/domains/states.js';
import { uriFor, type Driver } from '../libvirt/domains/connections.js';
import { readListDetail, type ListDetail } from './list-detail.js';

// One virsh process per driver, whatever the number of VMs: `domstats` for QEMU; the
// LXC driver has no domstats, so its (few) containers are listed, then described in one
// batch.

export interface ListedVm {
  name: string;
  driver: Driver;
  state: VmState;
  vcpus: number;
  memory_mb: number;
}

export function parseDomstats(text: string): ListedVm[] {
  return parseDomstatsRecords(text).map(({ name, stats }) => ({
    name,
    driver: 'qemu',
    state: stateOfDomstats(stats.get('state.state')),
    vcpus: Number(stats.get('vcpu.current') ?? 0),
    memory_mb: Math.floor(Number(stats.get('balloon.current') ?? stats.get('balloon.maximum') ?? 0) / 1024),
  }));
}

/** The assigned memory is in the definition: dominfo's "Used memory" is what a container uses now. */
async function listLxc(config: HvConfig, signal: AbortSignal): Promise<ListedVm[]> {
  return (await describeDefinedDomains(config, 'lxc', signal)).map(({ name, state, domain }) => ({ name, driver: 'lxc', state, vcpus: domain.vcpus, memory_mb: domain.memory_mb }));
}

export interface ListFilter {
  readonly driver: 'any' | Driver;
  readonly state: 'any' | VmState;
  /** Each VM's class and addresses too (list-detail.ts). */
  readonly details?: boolean;
}

/** Every VM on both connections (as the filter allows), sorted by name. */
export async function listVms(config: HvConfig, filter: ListFilter, signal: AbortSignal): Promise<Array<ListedVm & Partial<ListDetail>>> {
  const qemuUri = uriFor(config, 'qemu');
  const [qemu, lxc] = await Promise.all([
    filter.driver === 'lxc' ? [] : runVirsh(['domstats', '--raw', '--state', '--balloon', '--vcpu'], { uri: qemuUri, signal }).then(parseDomstats),
    filter.driver === 'qemu' ? [] : listLxc(config, signal),
  ]);
  await reconcileEmbedded(qemuUri, qemu, signal);
  const listed = [...qemu, ...lxc].filter((vm) => filter.state === 'any' || vm.state === filter.state).sort((a, b) => a.name.localeCompare(b.name));
  if (!filter.details) return listed;
  const detail = await readListDetail(config, listed, signal);
  return listed.map((vm) => ({ ...vm, ...detail.get(vm.name) }));
}
