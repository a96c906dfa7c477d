import type { HvConfig } from '../config/schema.js';
import { readHostBridges, type HostBridge } from './host-bridges.js';
import { readLibvirtNetworks, type LibvirtNetwork, type NetworkFound } from './libvirt-networks.js';
import type { DhcpHost, DnsHost } from './network-xml.js';

// Host networks: libvirt's networks, and the host's Linux bridges that no libvirt network
// created (a network of forward mode bridge only names an existing one, which is listed
// too, since guests can be plugged into it directly).

/** Forward modes in which libvirt makes and owns the bridge. */
const LIBVIRT_OWNS_BRIDGE = new Set(['nat', 'route', 'open', 'isolated']);

export interface NetworkEntry {
  name: string;
  kind: 'libvirt' | 'bridge';
  active: boolean;
  autostart: boolean | null;
  persistent: boolean | null;
  bridge: string | null;
  forward_mode: string | null;
  subnet: string | null;
  dhcp_range: string | null;
  ipv6_subnet: string | null;
  uuid: string | null;
}

/** One libvirt network as `network create` and the other changes report it: the list entry and what was asked of it. */
export interface NetworkDetail extends NetworkEntry {
  address: string | null;
  dhcp_hosts: DhcpHost[];
  domain: string | null;
  dns_hosts: DnsHost[];
}

export function networkDetail(network: NetworkFound): NetworkDetail {
  const { address, dhcp_hosts, domain, dns_hosts } = network;
  return { ...libvirtEntry(network), address, dhcp_hosts, domain, dns_hosts };
}

function libvirtEntry(network: LibvirtNetwork): NetworkEntry {
  const { name, active, autostart, persistent, bridge, forward_mode, subnet, dhcp_range, ipv6_subnet, uuid } = network;
  return { name, kind: 'libvirt', active, autostart, persistent, bridge, forward_mode, subnet, dhcp_range, ipv6_subnet, uuid };
}

function bridgeEntry(bridge: HostBridge): NetworkEntry {
  return {
    name: bridge.name,
    kind: 'bridge',
    active: bridge.up,
    autostart: null,
    persistent: null,
    bridge: bridge.name,
    forward_mode: null,
    subnet: bridge.subnet,
    dhcp_range: null,
    ipv6_subnet: null,
    uuid: null,
  };
}

/** libvirt's networks, then the host bridges no libvirt network owns, as `kind` allows. */
export async function listHostNetworks(config: HvConfig, kind: 'any' | NetworkEntry['kind'], signal: AbortSignal): Promise<NetworkEntry[]> {
  // Both are read whatever the filter: libvirt's own bridges must be known to leave them out.
  const [networks, bridges] = await Promise.all([readLibvirtNetworks(config.libvirt.uri, signal), readHostBridges(signal)]);
  const owned = new Set(networks.filter((network) => LIBVIRT_OWNS_BRIDGE.has(network.forward_mode)).map((network) => network.bridge));
  return [...networks.map(libvirtEntry), ...bridges.filter((bridge) => !owned.has(bridge.name)).map(bridgeEntry)].filter((entry) => kind === 'any' || entry.kind === kind);
}
