import { XMLParser } from 'fast-xml-parser';
import { ipv4ToNumber, prefixOfNetmask, subnetCidr } from './ipv4.js';
import { lazy } from '../core/lazy.js';

// A libvirt network's definition (net-dumpxml) as hvagent reports and compares it. A
// network with no <forward> is isolated: its guests reach each other and the host,
// nothing beyond.

export interface DhcpHost {
  mac: string;
  ip: string;
  /** The host name dnsmasq gives it, if any. */
  name: string | null;
}

export interface DnsHost {
  ip: string;
  hostnames: string[];
}

export interface NetworkDefinition {
  name: string;
  uuid: string | null;
  /** nat, route, open, bridge, private, vepa, passthrough, hostdev, or isolated. */
  forward_mode: string;
  bridge: string | null;
  /** The first IPv4 subnet, CIDR. */
  subnet: string | null;
  /** The host's own address on it (the guests' gateway and DHCP server). */
  address: string | null;
  /** Its first DHCP range, `start-end`. */
  dhcp_range: string | null;
  ipv6_subnet: string | null;
  /** Every IPv4 subnet, CIDR: what a new network must not overlap. */
  subnets: string[];
  /** Whether the first IPv4 subnet has a DHCP server (a <dhcp> element). */
  dhcp: boolean;
  /** Static DHCP reservations of the first IPv4 subnet. */
  dhcp_hosts: DhcpHost[];
  domain: string | null;
  dns_hosts: DnsHost[];
}

const parser = lazy(() => new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ['ip', 'range', 'host', 'hostname'].includes(name),
}));

type Node = Record<string, unknown>;
const node = (value: unknown): Node => (typeof value === 'object' && value !== null ? (value as Node) : {});
const attribute = (value: unknown, name: string): string | null => {
  const found = node(value)[`@_${name}`];
  return typeof found === 'string' ? found : null;
};
const text = (value: unknown): string | null => (typeof value === 'string' ? value : (node(value)['#text'] as string | undefined) ?? null);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

export function parseNetworkXml(xml: string): NetworkDefinition {
  const network = node(parser().parse(xml).network);
  const ips = list(network.ip);
  const ipv4s = ips.filter((ip) => (attribute(ip, 'family') ?? 'ipv4') === 'ipv4');
  const ipv4 = ipv4s[0];
  const ipv6 = ips.find((ip) => attribute(ip, 'family') === 'ipv6');
  const dhcp = node(ipv4).dhcp;
  const range = list(node(dhcp).range)[0];
  // <forward/> without a mode is NAT, libvirt's default.
  const forward = 'forward' in network ? (attribute(network.forward, 'mode') ?? 'nat') : 'isolated';
  return {
    name: text(network.name) ?? '',
    uuid: text(network.uuid),
    forward_mode: forward,
    bridge: attribute(network.bridge, 'name'),
    subnet: ipv4 ? cidrOf(ipv4) : null,
    address: ipv4 ? attribute(ipv4, 'address') : null,
    dhcp_range: range ? `${attribute(range, 'start')}-${attribute(range, 'end')}` : null,
    ipv6_subnet: ipv6 ? `${attribute(ipv6, 'address')}/${attribute(ipv6, 'prefix') ?? '64'}` : null,
    subnets: ipv4s.flatMap((ip) => cidrOf(ip) ?? []),
    dhcp: ipv4 !== undefined && 'dhcp' in node(ipv4),
    dhcp_hosts: list(node(dhcp).host).flatMap((host) => {
      const mac = attribute(host, 'mac');
      const ip = attribute(host, 'ip');
      return mac && ip ? [{ mac: mac.toLowerCase(), ip, name: attribute(host, 'name') }] : [];
    }),
    domain: attribute(network.domain, 'name'),
    dns_hosts: list(node(network.dns).host).flatMap((host) => {
      const ip = attribute(host, 'ip');
      return ip ? [{ ip, hostnames: list(node(host).hostname).flatMap((name) => text(name) ?? []) }] : [];
    }),
  };
}

function cidrOf(ip: unknown): string | null {
  const address = attribute(ip, 'address');
  if (!address) return null;
  const netmask = attribute(ip, 'netmask');
  const prefix = attribute(ip, 'prefix');
  const length = netmask ? prefixOfNetmask(netmask) : prefix !== null ? Number(prefix) : defaultPrefix(address);
  return length === undefined ? null : (subnetCidr(address, length) ?? null);
}

/** libvirt's default when neither netmask nor prefix is given: the address's class. */
function defaultPrefix(address: string): number {
  const first = Math.floor((ipv4ToNumber(address) ?? 0) / 2 ** 24);
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}
