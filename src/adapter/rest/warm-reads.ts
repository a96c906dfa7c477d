// Which reads the server keeps warm, and for how long at most. Every change the server makes
// and every libvirt event drops them at once (src/dispatch/read-cache.ts); the bound is for
// what no event announces. Live counters (host usage, vm statistics) are never kept: a
// scraper asks for them because they move (GET /metrics keeps its own few seconds); nor is
// a reply that describes the request itself (host agent_info names its protocol).

const DOMAIN_READS_MS = 60_000;
const OTHER_READS_MS = 5_000;

const WARM: Readonly<Record<string, number>> = {
  'vm#list': DOMAIN_READS_MS,
  'vm#info': DOMAIN_READS_MS,
  'vm#snapshot_list': DOMAIN_READS_MS,
  'network#nic_list': OTHER_READS_MS,
  'network#list': OTHER_READS_MS,
  'volume#list': OTHER_READS_MS,
  'volume#info': OTHER_READS_MS,
  'template#list': OTHER_READS_MS,
  'template#info': OTHER_READS_MS,
};

export function warmTtl(agent: string, action: string): number | undefined {
  return WARM[`${agent}#${action}`];
}
