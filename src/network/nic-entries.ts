import type { HvConfig } from '../config/schema.js';
import { mustLocate, type Located } from '../libvirt/domains/locate.js';
import { readVmNics, type DomainNic, type VmNics } from './domain-nics.js';
import { readFilters, isNicFilter } from './firewall/filters.js';
import { firewallView, type FirewallView } from './firewall/nic-firewall.js';
import { leasesByMac } from './leases.js';

// One entry per NIC, whether it is in the running domain, the definition, or both (they
// differ while a change waits for the next boot).

export interface NicEntry extends DomainNic {
  ipv4: string | null;
  live: boolean;
  persistent: boolean;
  /** Its base filter, allow rules and rule sets. */
  firewall: FirewallView;
}

export function findNic(nics: VmNics, mac: string): DomainNic | undefined {
  return nics.live?.find((nic) => nic.mac === mac) ?? nics.persistent.find((nic) => nic.mac === mac);
}

export async function nicEntries(config: HvConfig, nics: VmNics, signal?: AbortSignal): Promise<NicEntry[]> {
  const all = [...(nics.live ?? []), ...nics.persistent.filter((nic) => !nics.live?.some((live) => live.mac === nic.mac))];
  const networks = [...new Set(all.flatMap((nic) => (nic.network ? [nic.network] : [])))];
  const ownFilters = [...new Set(all.flatMap((nic) => (nic.filter && isNicFilter(nic.filter) ? [nic.filter] : [])))];
  const [leases, filters] = await Promise.all([
    networks.length > 0 ? leasesByMac(config.libvirt.uri, networks, signal) : new Map<string, string>(),
    readFilters(config.libvirt.uri, ownFilters, signal),
  ]);
  return all.map((nic) => ({
    ...nic,
    ipv4: nic.network ? (leases.get(nic.mac) ?? null) : null,
    live: nics.live?.some((live) => live.mac === nic.mac) ?? false,
    persistent: nics.persistent.some((persistent) => persistent.mac === nic.mac),
    firewall: firewallView(nic.filter, filters[ownFilters.indexOf(nic.filter ?? '')]),
  }));
}

/** A VM's NICs, live and persistent, each with its address from the DHCP leases. */
export async function listVmNics(config: HvConfig, name: string, signal: AbortSignal): Promise<{ vm: Located; nics: NicEntry[] }> {
  const vm = await mustLocate(config, name, signal);
  return { vm, nics: await nicEntries(config, await readVmNics(vm, signal), signal) };
}
