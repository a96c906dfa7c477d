import { runVirsh } from '../libvirt/index.js';
import { newestLeases } from './leases.js';

// A running guest's IPv4 addresses, per NIC, and where each was learnt: from
// qemu-guest-agent inside the guest (every address it has, static ones too) when the guest
// runs it, else from the DHCP leases of libvirt's dnsmasq (NICs on a libvirt network only).

export type AddressSource = 'guest_agent' | 'dhcp_lease';

export interface GuestAddress {
  address: string;
  prefix: number;
  source: AddressSource;
}

/** A guest agent that does not answer this fast is not waited for: the leases answer instead. */
const AGENT_TIMEOUT_MS = 5_000;

/** mac → IPv4 addresses of `virsh domifaddr` output (a row per address; '-' continues the NIC above). */
export function parseDomifaddr(output: string): Map<string, Array<{ address: string; prefix: number }>> {
  const byMac = new Map<string, Array<{ address: string; prefix: number }>>();
  let mac: string | undefined;
  for (const line of output.split('\n')) {
    const row = /^\s*(\S+)\s+(\S+)\s+(ipv4|ipv6)\s+(\S+)\/(\d+)\s*$/.exec(line);
    if (!row) continue;
    if (row[2] !== '-') mac = row[2]!.toLowerCase();
    if (!mac || row[3] !== 'ipv4' || mac === '00:00:00:00:00:00') continue;
    const list = byMac.get(mac) ?? [];
    list.push({ address: row[4]!, prefix: Number(row[5]) });
    byMac.set(mac, list);
  }
  return byMac;
}

export interface AddressQuery {
  /** The guest's connection and name. */
  uri: string;
  name: string;
  nics: ReadonlyArray<{ mac: string | null; network: string | null }>;
  /** Ask the guest agent (its channel is connected). */
  agent: boolean;
  /** The connection that answers for libvirt's networks. */
  networksUri: string;
  signal?: AbortSignal;
}

/** mac → addresses; the agent's, where it reports the NIC, else its DHCP lease. */
export async function guestAddresses(query: AddressQuery): Promise<Map<string, GuestAddress[]>> {
  const { signal } = query;
  const networks = [...new Set(query.nics.flatMap((nic) => (nic.network ? [nic.network] : [])))];
  const [fromAgent, leases] = await Promise.all([
    query.agent
      ? runVirsh(['domifaddr', query.name, '--source', 'agent'], { uri: query.uri, timeoutMs: AGENT_TIMEOUT_MS, ...(signal && { signal }) })
          .then(parseDomifaddr)
          .catch(() => new Map<string, Array<{ address: string; prefix: number }>>())
      : new Map<string, Array<{ address: string; prefix: number }>>(),
    networks.length > 0 ? newestLeases(query.networksUri, networks, signal).catch(() => new Map()) : new Map(),
  ]);
  const addresses = new Map<string, GuestAddress[]>();
  for (const nic of query.nics) {
    if (!nic.mac) continue;
    const mac = nic.mac.toLowerCase();
    const reported = fromAgent.get(mac);
    const lease = nic.network ? leases.get(mac) : undefined;
    if (reported?.length) addresses.set(mac, reported.map((entry) => ({ ...entry, source: 'guest_agent' })));
    else if (lease) addresses.set(mac, [{ address: lease.ip, prefix: lease.prefix, source: 'dhcp_lease' }]);
    else addresses.set(mac, []);
  }
  return addresses;
}
