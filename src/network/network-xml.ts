import { XMLParser } from 'fast-xml-parser';
import { prefixOfNetmask, subnetCidr } from './ipv4.js';
import { lazy } from '../core/lazy.js';

// A libvirt network's definition (net-dumpxml) as hvagent reports it. A network with no
// <forward> is isolated: its guests reach each other and the host, nothing beyond.

export interface NetworkDefinition {
  name: string;
  uuid: string | null;
  /** nat, route, open, bridge, private, vepa, passthrough, hostdev, or isolated. */
  forward_mode: string;
  bridge: string | null;
  /** The first IPv4 subnet, CIDR. */
  subnet: string | null;
  /** Its first DHCP range, `start-end`. */
  dhcp_range: string | null;
  ipv6_subnet: string | null;
}

const parser = lazy(() => new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'ip' || name === 'range',
}));

type Node = Record<string, unknown>;
const node = (value: unknown): Node => (typeof value === 'object' && value !== null ? (value as Node) : {});
const attribute = (value: unknown, name: string): string | null => {
  const found = node(value)[`@_${name}`];
  return typeof found === 'string' ? found : null;
};
const text = (value: unknown): string | null => (typeof value === 'string' ? value : (node(value)['#text'] as string | undefined) ?? null);

export function parseNetworkXml(xml: string): NetworkDefinition {
  const network = node(parser().parse(xml).network);
  const ips = (network.ip as unknown[] | undefined) ?? [];
  const ipv4 = ips.find((ip) => (attribute(ip, 'family') ?? 'ipv4') === 'ipv4');
  const ipv6 = ips.find((ip) => attribute(ip, 'family') === 'ipv6');
  const range = (node(node(ipv4).dhcp).range as unknown[] | undefined)?.[0];
  // <forward/> without a mode is NAT, libvirt's default.
  const forward = 'forward' in network ? (attribute(network.forward, 'mode') ?? 'nat') : 'isolated';
  return {
    name: text(network.name) ?? '',
    uuid: text(network.uuid),
    forward_mode: forward,
    bridge: attribute(network.bridge, 'name'),
    subnet: ipv4 ? cidrOf(ipv4) : null,
    dhcp_range: range ? `${attribute(range, 'start')}-${attribute(range, 'end')}` : null,
    ipv6_subnet: ipv6 ? `${attribute(ipv6, 'address')}/${attribute(ipv6, 'prefix') ?? '64'}` : null,
  };
}

function cidrOf(ip: unknown): string | null {
  const address = attribute(ip, 'address');
  if (!address) return null;
  const netmask = attribute(ip, 'netmask');
  const prefix = attribute(ip, 'prefix');
  const length = netmask ? prefixOfNetmask(netmask) : prefix !== null ? Number(prefix) : 24;
  return length === undefined ? null : (subnetCidr(address, length) ?? null);
}
