import { XMLBuilder } from 'fast-xml-parser';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { lockKey, withLock } from '../files/locks.js';
import { runVirsh } from '../libvirt/index.js';
import { withXmlFile } from '../libvirt/xml-file.js';
import { ipv4ToNumber, parseCidr, subnetOf } from './ipv4.js';
import type { Lease } from './leases.js';
import { mustReadNetwork, networkNotFound, readNetworkAndLeases, type NetworkFound } from './libvirt-networks.js';
import { normalizeMac } from './mac.js';
import { assertNetworkName, isDnsName } from './names.js';
import { isGuestAddress } from './network-spec.js';
import type { DhcpHost } from './network-xml.js';

// Static DHCP reservations: the address libvirt's dnsmasq always gives one MAC, changed with
// `virsh net-update … ip-dhcp-host` in the running network and its definition together.
// libvirt checks neither that the address lies in the subnet nor, on `modify`, that it
// matches the MAC it replaces (it matches on the address too), so hvagent checks first
// and only ever adds and deletes whole entries, under the network's lock.

export interface Reservation {
  readonly mac: string;
  readonly ip: string;
  readonly hostname?: string;
}

export interface ReservationChange {
  readonly changed: boolean;
  readonly reservation: DhcpHost | null;
  /** The MAC's former reservation that this one replaced (or that was removed). */
  readonly previous: DhcpHost | null;
}

/** The checked reservation as the network will hold it; throws unless the network can hold it. */
export function checkReservation(network: NetworkFound, request: Reservation, leases: readonly Lease[] = [], input = 'ip'): DhcpHost {
  const mac = normalizeMac(request.mac);
  const address = ipv4ToNumber(request.ip);
  if (address === undefined) throw new HvError('INPUT_INVALID', `Input '${input}': '${request.ip}' is not an IPv4 address`, { input });
  if (!network.subnet || !network.dhcp) {
    throw new HvError('UNSUPPORTED', `Network '${network.name}' has no DHCP server (no <dhcp> on an IPv4 subnet): it cannot reserve addresses`, { network: network.name });
  }
  const cidr = parseCidr(network.subnet)!;
  if (!isGuestAddress(subnetOf(cidr.address, cidr.prefix), network.address, address)) {
    throw new HvError('INPUT_INVALID', `Input '${input}': ${request.ip} is not a guest address of network '${network.name}' (${network.subnet}, host ${network.address})`, { input });
  }
  if (request.hostname !== undefined && !isDnsName(request.hostname)) {
    throw new HvError('INPUT_INVALID', `Input 'hostname': '${request.hostname}' is not a DNS name`, { input: 'hostname' });
  }
  const holder = network.dhcp_hosts.find((host) => host.ip === request.ip && host.mac !== mac);
  if (holder) throw new HvError('CONFLICT', `${request.ip} is already reserved on network '${network.name}' for MAC ${holder.mac}`, { network: network.name, ip: request.ip, mac: holder.mac });
  const leased = leases.find((lease) => lease.ip === request.ip && lease.mac !== mac);
  if (leased) {
    throw new HvError('CONFLICT', `${request.ip} is leased on network '${network.name}' to MAC ${leased.mac} until ${leased.expiry}`, { network: network.name, ip: request.ip, mac: leased.mac });
  }
  return { mac, ip: request.ip, name: request.hostname ?? null };
}

/** Sets a MAC's reservation on a network (replacing its former one); the same one again is no change. */
export function setReservation(config: HvConfig, networkName: string, request: Reservation, ctx: OperationContext): Promise<ReservationChange> {
  assertNetworkName(networkName);
  return withLock(lockKey.network(networkName), { directory: config.paths.lock_dir, deadline: ctx.deadline }, () => reserve(config.libvirt.uri, networkName, request, ctx.signal));
}

/**
 * The reservation itself, for a caller holding the network's lock (provisioning): read the
 * network and its leases, check, then delete the MAC's former entry and add the new one.
 */
export async function reserve(uri: string, networkName: string, request: Reservation, signal?: AbortSignal): Promise<ReservationChange> {
  const found = await readNetworkAndLeases(uri, networkName, true, signal);
  if (!found) throw networkNotFound(networkName);
  const { network, leases } = found;
  const wanted = checkReservation(network, request, leases);
  const previous = network.dhcp_hosts.find((host) => host.mac === wanted.mac) ?? null;
  if (previous && previous.ip === wanted.ip && previous.name === wanted.name) return { changed: false, reservation: previous, previous };
  if (previous) await updateHosts(uri, network, 'delete', previous, signal);
  try {
    await updateHosts(uri, network, 'add-last', wanted, signal);
  } catch (error) {
    if (previous) await updateHosts(uri, network, 'add-last', previous).catch(() => undefined);
    throw error;
  }
  return { changed: true, reservation: wanted, previous };
}

/** Removes a MAC's reservation; one that is not there is no change. */
export function removeReservation(config: HvConfig, networkName: string, macInput: string, ctx: OperationContext): Promise<ReservationChange> {
  assertNetworkName(networkName);
  return withLock(lockKey.network(networkName), { directory: config.paths.lock_dir, deadline: ctx.deadline }, () => unreserve(config.libvirt.uri, networkName, macInput, ctx.signal));
}

/** The removal itself, for a caller holding the network's lock. A network that is gone has no reservation left. */
export async function unreserve(uri: string, networkName: string, macInput: string, signal?: AbortSignal): Promise<ReservationChange> {
  const mac = normalizeMac(macInput);
  const network = await mustReadNetwork(uri, networkName, signal);
  const previous = network.dhcp_hosts.find((host) => host.mac === mac) ?? null;
  if (previous) await updateHosts(uri, network, 'delete', previous, signal);
  return { changed: previous !== null, reservation: null, previous };
}

export async function listReservations(config: HvConfig, networkName: string, signal: AbortSignal): Promise<{ network: NetworkFound; leases: Lease[] }> {
  const found = await readNetworkAndLeases(config.libvirt.uri, assertNetworkName(networkName), true, signal);
  if (!found) throw networkNotFound(networkName);
  return found;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true });

/** One `net-update` of the running network and its definition, as the network has them. */
async function updateHosts(uri: string, network: NetworkFound, command: 'add-last' | 'delete', host: DhcpHost, signal?: AbortSignal): Promise<void> {
  const xml = builder.build({ host: { '@_mac': host.mac, '@_ip': host.ip, ...(host.name !== null && { '@_name': host.name }) } }) as string;
  const scopes = [...(network.active ? ['--live'] : []), ...(network.persistent ? ['--config'] : [])];
  await withXmlFile(xml, (file) => runVirsh(['net-update', network.name, command, 'ip-dhcp-host', file, ...scopes], { uri, signal }));
}
