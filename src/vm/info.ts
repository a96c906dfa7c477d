import type { HvConfig } from '../config/schema.js';
import { findDefined, mustLocate, type Located } from '../libvirt/domains/locate.js';
import { channelState, parseDomainXml, type DomainDescription } from '../libvirt/parse/domain.js';
import { runVirshBatch, stdoutOrThrow } from '../libvirt/virsh.js';
import { guestAddresses, type GuestAddress } from '../network/guest-addresses.js';
import { GUEST_AGENT_CHANNEL } from './domain-xml.js';

export interface VmDescription extends Omit<DomainDescription, 'filesystems' | 'disks' | 'nics'> {
  disks: Array<{ target: string | null; source: string | null; format: string | null; device: string }>;
  /** Each NIC with its IPv4 addresses while the VM runs (and where each was learnt). */
  nics: Array<DomainDescription['nics'][number] & { ipv4_addresses: GuestAddress[] }>;
  state: Located['state'];
  autostart: boolean;
}

/** A VM's definition as libvirt has it, with its state and autostart; a container's disks are its mounted directories. */
export async function describeVm(config: HvConfig, name: string, signal: AbortSignal): Promise<VmDescription> {
  const vm = await mustLocate(config, name, signal);
  const [xml, dominfo] = await runVirshBatch([['dumpxml', vm.name], ['dominfo', vm.name]], { uri: vm.uri, signal });
  const text = stdoutOrThrow(xml!);
  const domain = parseDomainXml(text);
  const autostart = /^Autostart:\s*enable/m.test(stdoutOrThrow(dominfo!));
  // Addresses only mean something while it runs; a stopped guest's old lease is not its address.
  const addresses =
    vm.state === 'running'
      ? await guestAddresses({ uri: vm.uri, name: vm.name, nics: domain.nics, agent: channelState(text, GUEST_AGENT_CHANNEL) === 'connected', networksUri: config.libvirt.uri, signal })
      : new Map<string, GuestAddress[]>();
  const { filesystems, ...described } = domain;
  return {
    ...described,
    disks: vm.driver === 'lxc' ? filesystems.map((fs) => ({ target: fs.target, source: fs.source, format: 'dir', device: 'filesystem' })) : domain.disks,
    nics: domain.nics.map((nic) => ({ ...nic, ipv4_addresses: (nic.mac && addresses.get(nic.mac.toLowerCase())) || [] })),
    state: vm.state,
    autostart,
  };
}

export interface Whereabouts {
  readonly present: boolean;
  readonly state: Located['state'] | null;
  readonly vm_class: Located['vmClass'] | null;
}

/**
 * Whether this host holds the VM, in one virsh process for both connections: what the
 * hvagent data plugin asks during discovery, within its timeout, on every host. A host
 * without the VM answers present=false rather than NOT_FOUND.
 */
export async function locateVm(config: HvConfig, name: string, signal: AbortSignal): Promise<Whereabouts> {
  const found = await findDefined(config, name, signal);
  return found ? { present: true, state: found.state, vm_class: found.vmClass } : { present: false, state: null, vm_class: null };
}
