// The IPv4 arithmetic networks, leases and firewall rules need: addresses as numbers,
// subnets in CIDR form, containment and overlap.

export function ipv4ToNumber(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return undefined;
  return parts.reduce((sum, part) => sum * 256 + Number(part), 0);
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** A subnet: its first address (host bits clear) and prefix length. */
export interface Subnet {
  readonly network: number;
  readonly prefix: number;
}

export function subnetSize(subnet: Subnet): number {
  return 2 ** (32 - subnet.prefix);
}

/** 255.255.255.0 → 24; undefined when not a contiguous mask. */
export function prefixOfNetmask(netmask: string): number | undefined {
  const value = ipv4ToNumber(netmask);
  if (value === undefined) return undefined;
  const bits = value.toString(2).padStart(32, '0');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : undefined;
}

export function netmaskOfPrefix(prefix: number): string {
  return numberToIpv4(2 ** 32 - 2 ** (32 - prefix));
}

/** The subnet an address with a prefix length lies in. */
export function subnetOf(address: number, prefix: number): Subnet {
  const size = 2 ** (32 - prefix);
  return { network: Math.floor(address / size) * size, prefix };
}

/** 192.168.122.1 with prefix 24 → 192.168.122.0/24. */
export function subnetCidr(address: string, prefix: number): string | undefined {
  const value = ipv4ToNumber(address);
  if (value === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  return formatSubnet(subnetOf(value, prefix));
}

export function formatSubnet(subnet: Subnet): string {
  return `${numberToIpv4(subnet.network)}/${subnet.prefix}`;
}

/** `a.b.c.d/n` (or a bare address, as /32) → the address and prefix; undefined when it does not parse. */
export function parseCidr(text: string): { address: number; prefix: number } | undefined {
  const match = /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const address = ipv4ToNumber(match[1]!);
  const prefix = match[2] === undefined ? 32 : Number(match[2]);
  if (address === undefined || prefix > 32) return undefined;
  return { address, prefix };
}

export function subnetContains(subnet: Subnet, address: number): boolean {
  return address >= subnet.network && address < subnet.network + subnetSize(subnet);
}

export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  return a.network < b.network + subnetSize(b) && b.network < a.network + subnetSize(a);
}

export function isIpv4(address: string): boolean {
  return ipv4ToNumber(address) !== undefined;
}

/** Whether `address` lies in the subnet `cidr` (a.b.c.d/n). */
export function inSubnet(address: string, cidr: string): boolean {
  const [base = '', prefix = ''] = cidr.split('/');
  return subnetCidr(address, Number(prefix)) === subnetCidr(base, Number(prefix)) && subnetCidr(address, Number(prefix)) !== undefined;
}
