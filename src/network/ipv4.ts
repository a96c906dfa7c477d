// The few IPv4 calculations a network description needs: a subnet in CIDR form from an
// address and a netmask or prefix length.

function toNumber(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return undefined;
  return parts.reduce((sum, part) => sum * 256 + Number(part), 0);
}

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** 255.255.255.0 → 24; undefined when not a contiguous mask. */
export function prefixOfNetmask(netmask: string): number | undefined {
  const value = toNumber(netmask);
  if (value === undefined) return undefined;
  const bits = value.toString(2).padStart(32, '0');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : undefined;
}

/** 192.168.122.1 with prefix 24 → 192.168.122.0/24. */
export function subnetCidr(address: string, prefix: number): string | undefined {
  const value = toNumber(address);
  if (value === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return `${toAddress(Math.floor(value / size) * size)}/${prefix}`;
}

export function isIpv4(address: string): boolean {
  return toNumber(address) !== undefined;
}

/** Whether `address` lies in the subnet `cidr` (a.b.c.d/n). */
export function inSubnet(address: string, cidr: string): boolean {
  const [base = '', prefix = ''] = cidr.split('/');
  return subnetCidr(address, Number(prefix)) === subnetCidr(base, Number(prefix)) && subnetCidr(address, Number(prefix)) !== undefined;
}
