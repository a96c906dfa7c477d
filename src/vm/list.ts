import type { HvConfig } from '../config/schema.js';
import { runVirsh, runVirshBatch, type VirshCommand } from '../libvirt/virsh.js';
import { parseDomstatsRecords } from '../libvirt/parse/domstats.js';
import { describeDefinedDomains } from '../libvirt/domains/inventory.js';
import { reconcileEmbedded } from '../libvirt/domains/locate.js';
import { stateOfDomstats, type VmState } from '../libvirt/domains/states.js';
import { uriFor, type Driver } from '../libvirt/domains/connections.js';
import { classOfDomainType } from '../model/vm-classes.js';
import { compareText } from '../core/text-order.js';

// One virsh process per driver, whatever the number of VMs: `domstats` for QEMU; the
// LXC driver has no domstats, so its (few) containers are listed, then described in one
// batch. A QEMU domain's class is in its definition, which domstats does not show: reading
// it (and the addresses) costs one more virsh process, one command per VM, so only when asked.

export interface ListedVm {
  name: string;
  driver: Driver;
  state: VmState;
  /** Known for containers; for QEMU domains only with details. */
  vm_class: string | null;
  vcpus: number;
  memory_mb: number;
  /** With details: the IPv4 addresses the VM's networks leased it (running VMs only). */
  ipv4?: string[];
}

export function parseDomstats(text: string): ListedVm[] {
  return parseDomstatsRecords(text).map(({ name, stats }) => ({
    name,
    driver: 'qemu',
    state: stateOfDomstats(stats.get('state.state')),
    vm_class: null,
    vcpus: Number(stats.get('vcpu.current') ?? 0),
    memory_mb: Math.floor(Number(stats.get('balloon.current') ?? stats.get('balloon.maximum') ?? 0) / 1024),
  }));
}

/** The assigned memory is in the definition: dominfo's "Used memory" is what a container uses now. */
async function listLxc(config: HvConfig, signal: AbortSignal): Promise<ListedVm[]> {
  return (await describeDefinedDomains(config, 'lxc', signal)).map(({ name, state, domain }) => ({
    name,
    driver: 'lxc',
    state,
    vm_class: domain.vm_class,
    vcpus: domain.vcpus,
    memory_mb: domain.memory_mb,
  }));
}

/** `virsh domifaddr` rows: "vnet0  52:54:00:…  ipv4  192.168.122.5/24" (a second address of one NIC starts with "-"). */
export function parseDomifaddrIpv4(text: string): string[] {
  return text.split('\n').flatMap((line) => {
    const row = /\sipv4\s+(\d{1,3}(?:\.\d{1,3}){3})\/\d+\s*$/.exec(line);
    return row ? [row[1]!] : [];
  });
}

/** `dumpxml --xpath /domain/@type` prints ` type="kvm"`. */
export function parseDomainTypeAttribute(text: string): string | null {
  return /\btype="([a-z]+)"/.exec(text)?.[1] ?? null;
}

/**
 * Class (QEMU domains) and leased addresses (running VMs) of the listed VMs of one
 * connection, in one virsh process. A VM undefined meanwhile keeps what the list said.
 */
async function addDetails(vms: ListedVm[], uri: string, signal: AbortSignal): Promise<void> {
  const commands: Array<{ vm: ListedVm; command: VirshCommand; apply: (stdout: string) => void }> = [];
  for (const vm of vms) {
    if (vm.vm_class === null) {
      commands.push({ vm, command: ['dumpxml', '--xpath', '/domain/@type', vm.name], apply: (out) => (vm.vm_class = classOfDomainType(parseDomainTypeAttribute(out) ?? '') ?? null) });
    }
    vm.ipv4 = [];
    if (vm.state === 'running') commands.push({ vm, command: ['domifaddr', vm.name], apply: (out) => (vm.ipv4 = parseDomifaddrIpv4(out)) });
  }
  const results = await runVirshBatch(commands.map(({ command }) => command), { uri, signal });
  results.forEach((result, i) => {
    if (!result.error) commands[i]!.apply(result.stdout);
  });
}

export interface ListFilter {
  readonly driver: 'any' | Driver;
  readonly state: 'any' | VmState;
  /** Also each QEMU domain's class and every running VM's leased IPv4 addresses. */
  readonly details?: boolean;
}

/** Every VM on both connections (as the filter allows), sorted by name. */
export async function listVms(config: HvConfig, filter: ListFilter, signal: AbortSignal): Promise<ListedVm[]> {
  const qemuUri = uriFor(config, 'qemu');
  const wanted = (vm: ListedVm) => filter.state === 'any' || vm.state === filter.state;
  const [qemu, lxc] = await Promise.all([
    filter.driver === 'lxc'
      ? []
      : runVirsh(['domstats', '--raw', '--state', '--balloon', '--vcpu'], { uri: qemuUri, signal })
          .then(parseDomstats)
          .then(async (vms) => {
            await reconcileEmbedded(qemuUri, vms, signal);
            const kept = vms.filter(wanted);
            if (filter.details) await addDetails(kept, qemuUri, signal);
            return kept;
          }),
    filter.driver === 'qemu'
      ? []
      : listLxc(config, signal).then(async (vms) => {
          const kept = vms.filter(wanted);
          if (filter.details) await addDetails(kept, uriFor(config, 'lxc'), signal);
          return kept;
        }),
  ]);
  return [...qemu, ...lxc].sort((a, b) => compareText(a.name, b.name));
}
