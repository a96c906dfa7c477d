import { XMLBuilder } from 'fast-xml-parser';
import { HvError } from '../core/errors.js';
import { formatSubnet, ipv4ToNumber, numberToIpv4, parseCidr, subnetContains, subnetOf, subnetSize, type Subnet } from './ipv4.js';
import { assertBridgeName, assertNetworkName, isDnsName } from './names.js';
import type { DnsHost, NetworkDefinition } from './network-xml.js';

// What `network create` asks for, checked and completed (pure: nothing is read here), the
// libvirt network XML built from it (never concatenated), and how an existing network
// differs from it (the idempotency check).

/** libvirt's forward modes hvagent makes: NAT, routed, isolated (no <forward>), or an existing host bridge. */
export type NetworkMode = 'nat' | 'route' | 'isolated' | 'bridge';

export interface NetworkCreateRequest {
  readonly name: string;
  readonly mode: NetworkMode;
  /** ADDRESS/PREFIX: the host's address on the network (the network address itself means its first host). */
  readonly subnet?: string;
  /** A DHCP server on the subnet (default: yes when there is a subnet). */
  readonly dhcp?: boolean;
  /** START-END (default: every address of the subnet but the host's). */
  readonly dhcpRange?: string;
  /** The existing host bridge (mode bridge), or the name of the bridge libvirt makes (default: virbrN). */
  readonly bridge?: string;
  readonly domain?: string;
  /** NAME=IP entries, comma-separated: local DNS names. */
  readonly dnsHosts?: string;
}

export interface NetworkSpec {
  readonly name: string;
  readonly mode: NetworkMode;
  readonly bridge: string | null;
  readonly ipv4: {
    readonly address: string;
    readonly prefix: number;
    readonly subnet: Subnet;
    readonly dhcpRange: { readonly start: string; readonly end: string } | null;
  } | null;
  readonly domain: string | null;
  readonly dnsHosts: readonly DnsHost[];
}

const invalid = (input: string, message: string) => new HvError('INPUT_INVALID', `Input '${input}': ${message}`, { input });

export function networkSpec(request: NetworkCreateRequest): NetworkSpec {
  const name = assertNetworkName(request.name, 'name');
  const { mode } = request;
  if (mode === 'bridge') {
    if (request.bridge === undefined) throw new HvError('INPUT_REQUIRED', "Input 'bridge': a bridge-mode network needs the host bridge it plugs guests into", { input: 'bridge' });
    for (const input of ['subnet', 'dhcpRange', 'domain', 'dnsHosts'] as const) {
      if (request[input] !== undefined) throw invalid(inputName(input), 'a bridge-mode network has no addresses, DHCP or DNS of its own (the host bridge\'s network does)');
    }
    return { name, mode, bridge: assertBridgeName(request.bridge), ipv4: null, domain: null, dnsHosts: [] };
  }
  if (request.subnet === undefined && mode !== 'isolated') {
    throw new HvError('INPUT_REQUIRED', `Input 'subnet': a ${mode} network needs a subnet (ADDRESS/PREFIX, e.g. 10.20.30.1/24)`, { input: 'subnet' });
  }
  const ipv4 = request.subnet === undefined ? null : addressing(request.subnet, request.dhcp ?? true, request.dhcpRange);
  if (!ipv4) {
    for (const input of ['dhcpRange', 'domain', 'dnsHosts'] as const) {
      if (request[input] !== undefined) throw invalid(inputName(input), 'needs a subnet: without one the network has no DHCP or DNS server');
    }
    if (request.dhcp === true) throw invalid('dhcp', 'needs a subnet');
  }
  const domain = request.domain ?? null;
  if (domain !== null && !isDnsName(domain)) throw invalid('domain', `'${domain}' is not a DNS domain name`);
  return {
    name,
    mode,
    bridge: request.bridge === undefined ? null : assertBridgeName(request.bridge),
    ipv4,
    domain,
    dnsHosts: request.dnsHosts === undefined ? [] : parseDnsHosts(request.dnsHosts),
  };
}

function inputName(key: 'subnet' | 'dhcpRange' | 'domain' | 'dnsHosts' | 'dhcp'): string {
  return { subnet: 'subnet', dhcpRange: 'dhcp_range', domain: 'domain', dnsHosts: 'dns_hosts', dhcp: 'dhcp' }[key];
}

function addressing(text: string, dhcp: boolean, rangeText: string | undefined): NonNullable<NetworkSpec['ipv4']> {
  const parsed = /\//.test(text) ? parseCidr(text) : undefined;
  if (!parsed || parsed.prefix < 8 || parsed.prefix > 30) throw invalid('subnet', `'${text}' is not ADDRESS/PREFIX with a prefix from 8 to 30 (e.g. 10.20.30.1/24)`);
  const subnet = subnetOf(parsed.address, parsed.prefix);
  const broadcast = subnet.network + subnetSize(subnet) - 1;
  if (parsed.address === broadcast) throw invalid('subnet', `${numberToIpv4(parsed.address)} is the broadcast address of ${formatSubnet(subnet)}`);
  // The network address names the subnet: the host takes its first address.
  const host = parsed.address === subnet.network ? subnet.network + 1 : parsed.address;
  if (!dhcp) {
    if (rangeText !== undefined) throw invalid('dhcp_range', 'is given while dhcp is false');
    return { address: numberToIpv4(host), prefix: subnet.prefix, subnet, dhcpRange: null };
  }
  const usable = (address: number) => address > subnet.network && address < broadcast;
  let start: number;
  let end: number;
  if (rangeText === undefined) {
    // Every host address but the host's own: the larger side of it.
    [start, end] = host - subnet.network - 1 >= broadcast - host - 1 ? [subnet.network + 1, host - 1] : [host + 1, broadcast - 1];
  } else {
    const match = /^([0-9.]+)-([0-9.]+)$/.exec(rangeText);
    const [first, last] = [ipv4ToNumber(match?.[1] ?? ''), ipv4ToNumber(match?.[2] ?? '')];
    if (first === undefined || last === undefined) throw invalid('dhcp_range', `'${rangeText}' is not START-END (two IPv4 addresses)`);
    if (!usable(first) || !usable(last)) throw invalid('dhcp_range', `${rangeText} is not inside the host addresses of ${formatSubnet(subnet)}`);
    if (first > last) throw invalid('dhcp_range', `${rangeText} ends before it starts`);
    if (host >= first && host <= last) throw invalid('dhcp_range', `${rangeText} contains the host's own address ${numberToIpv4(host)}`);
    [start, end] = [first, last];
  }
  return { address: numberToIpv4(host), prefix: subnet.prefix, subnet, dhcpRange: { start: numberToIpv4(start), end: numberToIpv4(end) } };
}

/** `NAME=IP,NAME=IP`: one DNS entry per name, grouped by address in the order given. */
export function parseDnsHosts(text: string): DnsHost[] {
  const byIp = new Map<string, string[]>();
  for (const entry of text.split(',')) {
    const [hostname = '', ip = '', ...rest] = entry.trim().split('=');
    if (rest.length > 0 || !isDnsName(hostname) || ipv4ToNumber(ip) === undefined) {
      throw invalid('dns_hosts', `'${entry.trim()}' is not NAME=IPV4 (e.g. db=10.20.30.5)`);
    }
    const names = byIp.get(ip) ?? [];
    if (names.includes(hostname)) throw invalid('dns_hosts', `names ${hostname} twice`);
    byIp.set(ip, [...names, hostname]);
  }
  return [...byIp].map(([ip, hostnames]) => ({ ip, hostnames }));
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });

export function buildNetworkXml(spec: NetworkSpec): string {
  const { ipv4 } = spec;
  return builder.build({
    network: {
      name: spec.name,
      ...(spec.mode !== 'isolated' && { forward: { '@_mode': spec.mode } }),
      ...(spec.bridge !== null && { bridge: spec.mode === 'bridge' ? { '@_name': spec.bridge } : { '@_name': spec.bridge, '@_stp': 'on', '@_delay': 0 } }),
      // localOnly: names under the domain are answered here, never forwarded upstream.
      ...(spec.domain !== null && { domain: { '@_name': spec.domain, '@_localOnly': 'yes' } }),
      ...(spec.dnsHosts.length > 0 && { dns: { host: spec.dnsHosts.map((host) => ({ '@_ip': host.ip, hostname: host.hostnames })) } }),
      ...(ipv4 && {
        ip: {
          '@_address': ipv4.address,
          '@_prefix': ipv4.prefix,
          ...(ipv4.dhcpRange && { dhcp: { range: { '@_start': ipv4.dhcpRange.start, '@_end': ipv4.dhcpRange.end } } }),
        },
      }),
    },
  }) as string;
}

/** How an existing network differs from the spec, one phrase per difference (none: it is as asked). */
export function networkDifferences(spec: NetworkSpec, existing: NetworkDefinition): string[] {
  const differences: string[] = [];
  const compare = (what: string, actual: string | null, asked: string | null) => {
    if (actual !== asked) differences.push(`${what} ${actual ?? 'none'} (asked: ${asked ?? 'none'})`);
  };
  compare('mode', existing.forward_mode, spec.mode);
  if (spec.bridge !== null) compare('bridge', existing.bridge, spec.bridge);
  const { ipv4 } = spec;
  compare('subnet', existing.subnet, ipv4 && formatSubnet(ipv4.subnet));
  // Within another subnet, its host address and DHCP range differ of course: not said twice.
  if (existing.subnet === (ipv4 && formatSubnet(ipv4.subnet))) {
    compare('host address', existing.address, ipv4?.address ?? null);
    compare('DHCP range', existing.dhcp_range, ipv4?.dhcpRange ? `${ipv4.dhcpRange.start}-${ipv4.dhcpRange.end}` : null);
  }
  compare('domain', existing.domain, spec.domain);
  compare('DNS hosts', dnsText(existing.dns_hosts), dnsText(spec.dnsHosts));
  return differences;
}

function dnsText(hosts: readonly DnsHost[]): string | null {
  const pairs = hosts.flatMap((host) => host.hostnames.map((name) => `${name}=${host.ip}`)).sort();
  return pairs.length > 0 ? pairs.join(',') : null;
}

/** Whether an address is one a guest may be given on the spec's subnet (not the network, broadcast or host address). */
export function isGuestAddress(subnet: Subnet, host: string | null, address: number): boolean {
  const broadcast = subnet.network + subnetSize(subnet) - 1;
  return subnetContains(subnet, address) && address !== subnet.network && address !== broadcast && address !== (host === null ? -1 : ipv4ToNumber(host));
}
