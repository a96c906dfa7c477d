import { HvError } from '../core/errors.js';
import { runVirsh, runVirshBatch, stdoutOrThrow, VirshError } from '../libvirt/index.js';
import { destroyAndUndefine, type RemovableKind } from '../libvirt/remove-defined.js';
import { parseLeases, type Lease } from './leases.js';
import { parseNetworkXml, type NetworkDefinition } from './network-xml.js';

// libvirt's networks, read in two virsh processes whatever their number: `net-list --all`
// for the states, then every `net-dumpxml` in one batch. Networks belong to libvirt's
// network driver, shared by the QEMU and LXC connections, so the QEMU one is asked.

export interface NetworkState {
  name: string;
  active: boolean;
  autostart: boolean;
  persistent: boolean;
}

export type LibvirtNetwork = NetworkState & NetworkDefinition;

/** The rows of `virsh net-list --all`: Name, State, Autostart, Persistent. */
export function parseNetList(output: string): NetworkState[] {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => /^-{5,}/.test(line.trim())) + 1;
  return lines.slice(start).flatMap((line) => {
    const words = line.trim().split(/\s+/);
    if (words.length < 4) return [];
    const [state, autostart, persistent] = words.slice(-3);
    return [{ name: words.slice(0, -3).join(' '), active: state === 'active', autostart: autostart === 'yes', persistent: persistent === 'yes' }];
  });
}

export async function readLibvirtNetworks(uri: string, signal?: AbortSignal): Promise<LibvirtNetwork[]> {
  const states = parseNetList(await runVirsh(['net-list', '--all'], { uri, ...(signal && { signal }) }));
  const dumps = await runVirshBatch(states.map((state) => ['net-dumpxml', state.name]), { uri, ...(signal && { signal }) });
  return states.flatMap((state, index) => {
    const dump = dumps[index]!;
    // Undefined between the two calls: it is gone, not an error.
    if (dump.error && isMissingNetwork(dump.error)) return [];
    return [{ ...parseNetworkXml(stdoutOrThrow(dump)), ...state }];
  });
}

const NETWORK_ABSENT = /Network not found|no network with matching name/i;

export function isMissingNetwork(error: unknown): boolean {
  return error instanceof VirshError && NETWORK_ABSENT.test(error.stderr);
}

const NETWORK: RemovableKind = {
  destroy: 'net-destroy',
  undefine: 'net-undefine',
  absent: NETWORK_ABSENT,
  inactive: /is not active/i,
};

/** A network a request may have defined, stopped and undefined (libvirt/remove-defined.ts); whether it existed. */
export function removeNetwork(uri: string, name: string, timeoutMs = 20_000): Promise<boolean> {
  return destroyAndUndefine(uri, NETWORK, name, timeoutMs);
}

export interface NetworkFound extends NetworkDefinition {
  active: boolean;
  autostart: boolean;
  persistent: boolean;
}

/**
 * One network by name: its persistent definition (the running one for a transient
 * network) and its state, in one virsh process; undefined when libvirt has none.
 */
export async function readNetwork(uri: string, name: string, signal?: AbortSignal): Promise<NetworkFound | undefined> {
  return (await readNetworkAndLeases(uri, name, false, signal))?.network;
}

/** The same, and (with `leases`) its current DHCP leases, still in one virsh process. */
export async function readNetworkAndLeases(uri: string, name: string, leases: boolean, signal?: AbortSignal): Promise<{ network: NetworkFound; leases: Lease[] } | undefined> {
  const commands = [['net-dumpxml', '--inactive', name], ['net-info', name], ...(leases ? [['net-dhcp-leases', name]] : [])];
  const [xml, info, leased] = await runVirshBatch(commands, { uri, ...(signal && { signal }) });
  if (xml!.error && isMissingNetwork(xml!.error)) return undefined;
  const fields = stdoutOrThrow(info!);
  const flag = (field: string) => new RegExp(`^${field}:\\s*yes`, 'm').test(fields);
  const network = { ...parseNetworkXml(stdoutOrThrow(xml!)), active: flag('Active'), autostart: flag('Autostart'), persistent: flag('Persistent') };
  // An inactive network has no leases (libvirt answers with an error).
  return { network, leases: leased && !leased.error ? parseLeases(leased.stdout) : [] };
}

/** One network by name, or NOT_FOUND. */
export async function mustReadNetwork(uri: string, name: string, signal?: AbortSignal): Promise<NetworkFound> {
  const found = await readNetwork(uri, name, signal);
  if (!found) throw networkNotFound(name);
  return found;
}

export function networkNotFound(name: string): HvError {
  return new HvError('NOT_FOUND', `No libvirt network named '${name}' on this host`, { network: name });
}
