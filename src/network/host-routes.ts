import { runProcess } from '../process/run.js';
import { parseCidr, subnetOf, type Subnet } from './ipv4.js';

// The host's IPv4 routes, every table, from one `ip -j -4 route show table all`: a new
// network's subnet must not overlap one (traffic for it would go two ways). Default
// routes cover everything and say nothing about where a subnet is: they are left out.

export interface HostRoute {
  /** CIDR as ip prints it (a host route has no /32). */
  destination: string;
  subnet: Subnet;
  device: string | null;
  table: string;
  type: string;
}

interface IpRouteEntry {
  type?: string;
  dst?: string;
  dev?: string;
  table?: string;
}

export function parseIpRouteJson(output: string): HostRoute[] {
  const entries = JSON.parse(output.trim() || '[]') as IpRouteEntry[];
  return entries.flatMap((entry) => {
    const parsed = entry.dst && entry.dst !== 'default' ? parseCidr(entry.dst) : undefined;
    if (!parsed) return [];
    return [{
      destination: entry.dst!,
      subnet: subnetOf(parsed.address, parsed.prefix),
      device: entry.dev ?? null,
      table: entry.table ?? 'main',
      type: entry.type ?? 'unicast',
    }];
  });
}

export async function readHostRoutes(signal?: AbortSignal): Promise<HostRoute[]> {
  const { stdout } = await runProcess('ip', ['-j', '-4', 'route', 'show', 'table', 'all'], { signal, timeoutMs: 20_000 });
  return parseIpRouteJson(stdout);
}
