import type { ActionHandler } from '../contract.js';
import type { HvConfig } from '../../config/schema.js';
import { runVirsh } from '../../libvirt/index.js';
import { parseDomstatsRecords } from '../../libvirt/parse/domstats.js';
import { describeDefined } from '../../libvirt/domains/defined.js';
import { reconcileEmbedded, stateOfDomstats, uriFor, type Driver, type VmState } from '../../libvirt/domains/locate.js';

// One virsh process per driver, whatever the number of VMs: `domstats` for QEMU; the
// LXC driver has no domstats, so its (few) containers are listed, then described in one
// batch.

interface ListedVm {
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
  return (await describeDefined(config, 'lxc', signal)).map(({ name, state, domain }) => ({ name, driver: 'lxc', state, vcpus: domain.vcpus, memory_mb: domain.memory_mb }));
}

export const list: ActionHandler = async ({ inputs, config, signal }) => {
  const wantDriver = String(inputs.driver);
  const wantState = String(inputs.state);
  const [qemu, lxc] = await Promise.all([
    wantDriver === 'lxc' ? [] : runVirsh(['domstats', '--raw', '--state', '--balloon', '--vcpu'], { uri: uriFor(config, 'qemu'), signal }).then(parseDomstats),
    wantDriver === 'qemu' ? [] : listLxc(config, signal),
  ]);
  const qemuUri = uriFor(config, 'qemu');
  await reconcileEmbedded(qemuUri, qemu, signal);
  const vms = [...qemu, ...lxc]
    .filter((vm) => wantState === 'any' || vm.state === wantState)
    .sort((a, b) => a.name.localeCompare(b.name));
  return { vms, count: vms.length };
};
