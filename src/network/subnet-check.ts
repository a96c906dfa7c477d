import { HvError } from '../core/errors.js';
import { readHostRoutes } from './host-routes.js';
import { formatSubnet, parseCidr, subnetOf, subnetsOverlap, type Subnet } from './ipv4.js';
import { readLibvirtNetworks } from './libvirt-networks.js';

// A new network's subnet must be its own: overlapping another libvirt network (active or
// not: it may start later) or a route of the host would send its traffic two ways.

export async function assertSubnetFree(uri: string, subnet: Subnet, signal?: AbortSignal): Promise<void> {
  const [networks, routes] = await Promise.all([readLibvirtNetworks(uri, signal), readHostRoutes(signal)]);
  const asked = formatSubnet(subnet);
  for (const network of networks) {
    for (const cidr of network.subnets) {
      const parsed = parseCidr(cidr)!;
      if (subnetsOverlap(subnet, subnetOf(parsed.address, parsed.prefix))) {
        throw new HvError('CONFLICT', `Input 'subnet': ${asked} overlaps ${cidr} of network '${network.name}'`, { input: 'subnet', network: network.name, overlaps: cidr });
      }
    }
  }
  const route = routes.find((candidate) => subnetsOverlap(subnet, candidate.subnet));
  if (route) {
    const where = route.device ? ` (dev ${route.device}${route.table === 'main' ? '' : `, table ${route.table}`})` : '';
    throw new HvError('CONFLICT', `Input 'subnet': ${asked} overlaps the host route ${route.destination}${where}`, { input: 'subnet', overlaps: route.destination });
  }
}
