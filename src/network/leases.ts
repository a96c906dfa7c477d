import { runVirshBatch } from '../libvirt/index.js';
import { compareText } from '../core/text-order.js';

// Guest addresses come from the DHCP leases of libvirt's own dnsmasq (virsh
// net-dhcp-leases): known for NICs on a libvirt network with DHCP, unknown (null) for
// NICs on a host bridge, whose DHCP server, if any, hvagent cannot see.

export interface Lease {
  mac: string;
  ip: string;
  prefix: number;
  expiry: string;
}

const ROW = /^\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+([0-9A-Fa-f:]{17})\s+ipv4\s+([0-9.]+)\/(\d+)\s/;

/** The IPv4 rows of `virsh net-dhcp-leases`, newest lease last. */
export function parseLeases(output: string): Lease[] {
  return output
    .split('\n')
    .flatMap((line) => {
      const row = ROW.exec(line);
      return row ? [{ expiry: row[1]!, mac: row[2]!.toLowerCase(), ip: row[3]!, prefix: Number(row[4]) }] : [];
    })
    .sort((a, b) => compareText(a.expiry, b.expiry));
}

/** mac → IPv4 address, over the given networks, in one virsh process. */
export async function leasesByMac(uri: string, networks: readonly string[], signal?: AbortSignal): Promise<Map<string, string>> {
  return new Map([...(await newestLeases(uri, networks, signal))].map(([mac, lease]) => [mac, lease.ip]));
}

/** mac → its newest lease, over the given networks, in one virsh process. */
export async function newestLeases(uri: string, networks: readonly string[], signal?: AbortSignal): Promise<Map<string, Lease>> {
  const results = await runVirshBatch(networks.map((network) => ['net-dhcp-leases', network]), { uri, ...(signal && { signal }) });
  const byMac = new Map<string, Lease>();
  // An inactive or vanished network simply has no leases.
  for (const result of results) if (!result.error) for (const lease of parseLeases(result.stdout)) byMac.set(lease.mac, lease);
  return byMac;
}
