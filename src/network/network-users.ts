import type { HvConfig } from '../config/schema.js';
import { interfaceAttribute } from './domain-interfaces.js';
import { compareText } from '../core/text-order.js';

// Which VMs have a NIC on a libvirt network, in their running definition (the guest is
// plugged in now) or their persistent one (it will be at its next start).

export interface NetworkUser {
  vm: string;
  /** Plugged in now: the VM runs with a NIC on the network. */
  live: boolean;
  /** Its definition has a NIC on the network. */
  persistent: boolean;
}

export async function networkUsers(config: HvConfig, network: string, signal?: AbortSignal): Promise<NetworkUser[]> {
  const domains = await interfaceAttribute(config, 'source/@network', signal);
  return domains
    .map((domain) => ({ vm: domain.vm, live: domain.live.includes(network), persistent: domain.persistent.includes(network) }))
    .filter((user) => user.live || user.persistent)
    .sort((a, b) => compareText(a.vm, b.vm));
}
