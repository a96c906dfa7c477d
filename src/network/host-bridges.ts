import { existsSync } from 'node:fs';
import { HvError } from '../core/errors.js';
import { runProcess } from '../process/run.js';
import { subnetCidr } from './ipv4.js';

// Linux bridges of the host, from one `ip -j addr show type bridge` (links and their
// addresses together). Guests can be plugged into any of them with `bridge=`.

export interface HostBridge {
  name: string;
  /** Administratively up. */
  up: boolean;
  /** The first IPv4 subnet the host has on it, CIDR. */
  subnet: string | null;
  mac: string | null;
}

interface IpAddrEntry {
  ifname?: string;
  flags?: string[];
  address?: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}

export function parseIpAddrJson(output: string): HostBridge[] {
  const entries = JSON.parse(output.trim() || '[]') as IpAddrEntry[];
  return entries.flatMap((entry) => {
    if (!entry.ifname) return [];
    const ipv4 = entry.addr_info?.find((info) => info.family === 'inet' && info.local && info.prefixlen !== undefined);
    return [{
      name: entry.ifname,
      up: entry.flags?.includes('UP') ?? false,
      subnet: ipv4 ? (subnetCidr(ipv4.local!, ipv4.prefixlen!) ?? null) : null,
      mac: entry.address ?? null,
    }];
  });
}

export async function readHostBridges(signal?: AbortSignal): Promise<HostBridge[]> {
  const { stdout } = await runProcess('ip', ['-j', 'addr', 'show', 'type', 'bridge'], { signal, timeoutMs: 20_000 });
  return parseIpAddrJson(stdout);
}

/** A bridge named in a request must exist on the host. */
export function mustBeBridge(name: string, input = 'bridge'): void {
  if (!existsSync(`/sys/class/net/${name}/bridge`)) throw new HvError('NOT_FOUND', `Input '${input}': no bridge named '${name}' on this host`, { input, bridge: name });
}

/** Whether the host has a network interface of that name (a bridge or anything else). */
export function interfaceExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}
