import { HvError } from '../core/errors.js';
import { isIpv4 } from '../network/ipv4.js';

// How each NIC `vm create` makes gets its IPv4 address, in the order of its networks:
// `dhcp` (the default: whatever the network's DHCP server hands out) or `dhcp:ADDRESS`
// (a reservation on that libvirt network for the NIC's stable MAC, so DHCP always hands
// out ADDRESS). The input is comma-separated, one entry per NIC; NICs without an entry
// use DHCP.

export type NicAddressing = { readonly kind: 'dhcp' } | { readonly kind: 'reserved'; readonly address: string };

export function parseNicAddressing(text: string): NicAddressing[] {
  return text.split(',').map((entry) => {
    const value = entry.trim();
    if (value === 'dhcp') return { kind: 'dhcp' };
    const reserved = /^dhcp:(.+)$/.exec(value);
    if (reserved && isIpv4(reserved[1]!)) return { kind: 'reserved', address: reserved[1]! };
    throw new HvError('INPUT_INVALID', `Input 'ipv4': '${value}' is neither dhcp nor dhcp:ADDRESS (a reserved DHCP address, e.g. dhcp:10.20.30.40)`, { input: 'ipv4' });
  });
}

/** network → the address reserved for its NIC, checked against the request's networks. */
export function reservedAddresses(networks: readonly string[], addressing: readonly NicAddressing[]): Map<string, string> {
  if (addressing.length > networks.length) {
    throw new HvError('INPUT_INVALID', `Input 'ipv4' has ${addressing.length} entries for ${networks.length} NIC${networks.length === 1 ? '' : 's'} (one per network, in order)`, { input: 'ipv4' });
  }
  const reserved = new Map<string, string>();
  addressing.forEach((entry, index) => {
    if (entry.kind === 'reserved') reserved.set(networks[index]!, entry.address);
  });
  const addresses = [...reserved.values()];
  if (new Set(addresses).size !== addresses.length) throw new HvError('INPUT_INVALID', "Input 'ipv4' reserves one address twice", { input: 'ipv4' });
  return reserved;
}
