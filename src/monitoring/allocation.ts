import type { HvConfig } from '../config/schema.js';
import { uriFor, type Driver } from '../libvirt/domains/connections.js';
import { reconcileEmbedded } from '../libvirt/domains/locate.js';
import { stateOf, stateOfDomstats, type VmState } from '../libvirt/domains/states.js';
import { parseDomstatsRecords } from '../libvirt/parse/domstats.js';
import { parseKeyValueLines } from '../libvirt/parse/key-value-lines.js';
import { parseNodeInfo } from '../libvirt/parse/nodeinfo.js';
import { runVirshBatch, stdoutOrThrow, type VirshCommandResult } from '../libvirt/virsh.js';

// What the host has and what its VMs are given, for admission (src/vm/admission.ts) and
// `host capacity`. It sits on the hot path of create, start and modify whenever limits
// are configured, so it is one virsh process: the host's CPUs and memory, every QEMU
// domain's state, memory and vCPUs (domstats reads a shut-off domain's from its
// definition), then the LXC connection's domain names. Only a host with containers pays
// a second process, for their dominfo (the LXC driver has no domstats).

export interface AllocatedVm {
  readonly name: string;
  readonly driver: Driver;
  state: VmState;
  /** What the VM is given now (its current balloon), or would be given at start. */
  readonly memory_mb: number;
  readonly vcpus: number;
}

export interface HostAllocation {
  readonly cpus: number;
  /** The memory the kernel manages (nodememstats total = MemTotal). */
  readonly memory_mb: number;
  readonly vms: AllocatedVm[];
}

/** Anything not shut off may hold its memory and CPUs: running, paused, in shutdown, crashed with QEMU kept. */
export function isActive(vm: { state: VmState }): boolean {
  return vm.state !== 'shutoff';
}

const KIB_PER_MIB = 1024;

export async function readHostAllocation(config: HvConfig, signal?: AbortSignal): Promise<HostAllocation> {
  const qemuUri = uriFor(config, 'qemu');
  const lxcUri = uriFor(config, 'lxc');
  const options = { uri: qemuUri, ...(signal && { signal }) };
  const [nodeinfo, memstats, domstats, lxcConnected, lxcNames] = await runVirshBatch(
    [['nodeinfo'], ['nodememstats'], ['domstats', '--raw', '--nowait', '--state', '--balloon', '--vcpu'], ['connect', lxcUri], ['list', '--all', '--name']],
    options,
  );
  const node = parseNodeInfo(stdoutOrThrow(nodeinfo!));
  const qemu = parseDomstatsRecords(stdoutOrThrow(domstats!)).map(({ name, stats }): AllocatedVm => ({
    name,
    driver: 'qemu',
    state: stateOfDomstats(stats.get('state.state')),
    memory_mb: Math.floor(Number(stats.get('balloon.current') ?? stats.get('balloon.maximum') ?? 0) / KIB_PER_MIB),
    vcpus: Number(stats.get('vcpu.current') ?? 0),
  }));
  // A host without a working LXC driver has no containers.
  const names = lxcConnected && !lxcConnected.error && lxcNames && !lxcNames.error ? namesOf(lxcNames) : [];
  const [, lxc] = await Promise.all([reconcileEmbedded(qemuUri, qemu, signal), names.length > 0 ? readContainers(lxcUri, names, signal) : []]);
  return { cpus: node.cpus, memory_mb: hostMemoryMb(memstats!, node.memoryKiB), vms: [...qemu, ...lxc] };
}

/** MemTotal through libvirt; drivers without node memory statistics (test://) give nodeinfo's figure. */
function hostMemoryMb(memstats: VirshCommandResult, nodeinfoKiB: number): number {
  const total = memstats.error ? undefined : /^(\d+) KiB$/.exec(parseKeyValueLines(memstats.stdout).get('total') ?? '')?.[1];
  return Math.floor(Number(total ?? nodeinfoKiB) / KIB_PER_MIB);
}

function namesOf(listed: VirshCommandResult): string[] {
  return listed.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/** A container undefined between the list and its dominfo is simply no longer there. */
async function readContainers(uri: string, names: string[], signal?: AbortSignal): Promise<AllocatedVm[]> {
  const results = await runVirshBatch(
    names.map((name) => ['dominfo', name]),
    { uri, ...(signal && { signal }) },
  );
  return names.flatMap((name, i) => {
    const result = results[i];
    if (!result || result.error) return [];
    const fields = parseKeyValueLines(result.stdout);
    const memoryKiB = /^(\d+) KiB$/.exec(fields.get('max memory') ?? '')?.[1];
    return [{ name, driver: 'lxc' as const, state: stateOf(fields.get('state') ?? ''), memory_mb: Math.floor(Number(memoryKiB ?? 0) / KIB_PER_MIB), vcpus: Number(fields.get('cpu(s)') ?? 0) }];
  });
}
