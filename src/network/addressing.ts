import { isIP } from 'node:net';
import { HvError } from '../core/errors.js';
import { inSubnet, isIpv4, subnetCidr } from './ipv4.js';

// How each NIC of a new VM gets its IPv4 address, as `vm create` asks (input `ipv4`):
// comma-separated, one entry per NIC in the order of `network`; NICs without an entry use
// DHCP. Each entry is parsed by parseAddressingEntry, the one place a new form is added.
//   dhcp                       the guest asks the network's DHCP server
//   dhcp:ADDRESS               the same, with a reservation on that libvirt network for the
//                              NIC's stable MAC, so DHCP always hands out ADDRESS
//   ADDRESS/PREFIX[@GATEWAY]   static, configured in the guest (cloud-init network-config)

export type NicAddressing =
  | { readonly kind: 'dhcp' }
  | { readonly kind: 'reserved'; readonly address: string }
  | { readonly kind: 'static'; readonly address: string; readonly prefix: number; readonly gateway?: string };

const INPUT = 'ipv4';
export const MAX_NAMESERVERS = 3;

function refuse(input: string, message: string): never {
  throw new HvError('INPUT_INVALID', `Input '${input}': ${message}`, { input });
}

/** The entries of input `ipv4`, in NIC order. */
export function parseIpv4Input(text: string): NicAddressing[] {
  return text.split(',').map((entry, index) => parseAddressingEntry(entry.trim(), index));
}

export function parseAddressingEntry(entry: string, index: number): NicAddressing {
  const at = `entry ${index + 1} (${JSON.stringify(entry.slice(0, 40))})`;
  if (entry === 'dhcp') return { kind: 'dhcp' };
  const reserved = /^dhcp:(.+)$/.exec(entry);
  if (reserved) {
    if (!isIpv4(reserved[1]!)) refuse(INPUT, `${at}: ${reserved[1]} is not an IPv4 address (dhcp:ADDRESS reserves ADDRESS, e.g. dhcp:10.20.30.40)`);
    return { kind: 'reserved', address: reserved[1]! };
  }
  const match = /^([0-9.]+)\/([0-9]{1,2})(?:@([0-9.]+))?$/.exec(entry);
  if (!match) refuse(INPUT, `${at} is none of dhcp, dhcp:ADDRESS (a DHCP reservation) and ADDRESS/PREFIX[@GATEWAY] (static, e.g. 192.0.2.10/24@192.0.2.1)`);
  const [, address = '', prefixText = '', gateway] = match;
  const prefix = Number(prefixText);
  if (!isIpv4(address)) refuse(INPUT, `${at}: ${address} is not an IPv4 address`);
  if (prefix < 1 || prefix > 32) refuse(INPUT, `${at}: the prefix length must be 1 to 32`);
  const problem = hostAddressProblem(address, prefix);
  if (problem) refuse(INPUT, `${at}: ${problem}`);
  if (gateway !== undefined) {
    if (!isIpv4(gateway)) refuse(INPUT, `${at}: gateway ${gateway} is not an IPv4 address`);
    if (gateway === address) refuse(INPUT, `${at}: the gateway is the address itself`);
    if (!inSubnet(gateway, `${address}/${prefix}`)) refuse(INPUT, `${at}: gateway ${gateway} is outside ${subnetCidr(address, prefix)}`);
  }
  return { kind: 'static', address, prefix, ...(gateway !== undefined && { gateway }) };
}

/** Why `address` cannot be a host's address in its subnet (undefined when it can). */
function hostAddressProblem(address: string, prefix: number): string | undefined {
  const first = Number(address.split('.')[0]);
  if (first === 0 || first === 127 || first >= 224) return `${address} is not a unicast host address`;
  if (prefix <= 30) {
    const network = subnetCidr(address, prefix)!.split('/')[0];
    if (address === network) return `${address} is the network address of ${address}/${prefix}`;
    if (address === broadcastOf(address, prefix)) return `${address} is the broadcast address of ${address}/${prefix}`;
  }
  return undefined;
}

function broadcastOf(address: string, prefix: number): string {
  const octets = subnetCidr(address, prefix)!.split('/')[0]!.split('.').map(Number);
  const value = octets.reduce((sum, octet) => sum * 256 + octet, 0) + 2 ** (32 - prefix) - 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Input `dns`: comma-separated IPv4 or IPv6 nameservers for the static NICs. */
export function parseNameservers(text: string): string[] {
  const servers = text.split(',').map((entry) => entry.trim());
  for (const server of servers) if (isIP(server) === 0) refuse('dns', `${JSON.stringify(server.slice(0, 45))} is not an IPv4 or IPv6 address`);
  if (servers.length > MAX_NAMESERVERS) refuse('dns', `${servers.length} nameservers given; a resolver uses at most ${MAX_NAMESERVERS}`);
  return servers;
}

/**
 * Why a NIC's addressing does not fit the libvirt network it is on (undefined when it
 * does, or when the network has no IPv4 subnet of its own to compare with).
 */
export function addressingMismatch(addressing: NicAddressing, network: { name: string; subnet: string | null }): string | undefined {
  if (addressing.kind !== 'static' || !network.subnet) return undefined;
  if (!inSubnet(addressing.address, network.subnet)) return `${addressing.address} is outside network '${network.name}' (${network.subnet})`;
  return undefined;
}
