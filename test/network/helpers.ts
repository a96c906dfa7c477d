// Test networks and bridges on the real host: each has a unique t- name and a subnet
// picked at random from 10.230.0.0–10.239.255.0/24 that no route, address or libvirt
// network uses yet (retrying on a collision, since other tests run at the same time).
// cleanup() destroys and undefines every one of them.
import { randomBytes, randomInt } from 'node:crypto';
import { execa } from 'execa';
import { stdioRpc, type Reply } from '../helpers/agent.js';
import { QEMU_URI, virsh } from '../vm/helpers.js';

export interface TestNetwork {
  name: string;
  bridge: string;
  /** e.g. 10.234.17 */
  prefix: string;
  subnet: string;
  dhcpRange: string;
}

const networks = new Set<string>();
const bridges = new Set<string>();

export function network(action: string, data: Record<string, unknown>, env: Record<string, string> = {}): Promise<Reply> {
  return stdioRpc({ agent: 'network', action, data }, env);
}

function token(): string {
  return randomBytes(3).toString('hex');
}

/** Subnets (x.y.z prefixes) the host already has addresses or routes in. */
async function subnetsInUse(): Promise<Set<string>> {
  const routes = JSON.parse(String((await execa('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])).stdout)) as Array<{ dst?: string }>;
  const addresses = JSON.parse(String((await execa('ip', ['-j', '-4', 'addr'])).stdout)) as Array<{ addr_info?: Array<{ local?: string }> }>;
  const dumps = await Promise.all(
    (await virsh(QEMU_URI, ['net-list', '--all', '--name'])).split('\n').map((line) => line.trim()).filter(Boolean)
      .map((name) => virsh(QEMU_URI, ['net-dumpxml', name]).catch(() => '')),
  );
  const prefixes = [
    ...routes.map((route) => route.dst ?? ''),
    ...addresses.flatMap((entry) => entry.addr_info?.map((info) => info.local ?? '') ?? []),
    ...dumps.flatMap((xml) => [...xml.matchAll(/address='([0-9.]+)'/g)].map((match) => match[1]!)),
  ];
  return new Set(prefixes.map((address) => address.split('.').slice(0, 3).join('.')));
}

function randomPrefix(taken: Set<string>): string {
  for (;;) {
    const prefix = `10.23${randomInt(10)}.${randomInt(256)}`;
    if (!taken.has(prefix)) return prefix;
  }
}

/** A 10.23x.y prefix (x.y.z of a /24) no route, address or libvirt network uses right now. */
export async function freePrefix(): Promise<string> {
  return randomPrefix(await subnetsInUse());
}

/** A network the agent made, destroyed and undefined by cleanupNetworks() like the helpers' own. */
export function trackNetwork(name: string): string {
  networks.add(name);
  return name;
}

/** Defines and starts a t- network: NAT (`nat`) or isolated (no <forward>), with DHCP. */
export async function createNetwork(kind: 'nat' | 'isolated'): Promise<TestNetwork> {
  for (let attempt = 1; ; attempt += 1) {
    const id = token();
    const name = `t-net-${kind}-${id}`;
    const bridge = `t-vbr-${id}`;
    const prefix = randomPrefix(await subnetsInUse());
    const xml = `<network><name>${name}</name>${kind === 'nat' ? "<forward mode='nat'/>" : ''}<bridge name='${bridge}' stp='on' delay='0'/>
      <ip address='${prefix}.1' netmask='255.255.255.0'><dhcp><range start='${prefix}.100' end='${prefix}.199'/></dhcp></ip></network>`;
    const file = `/tmp/${name}.xml`;
    await execa('sh', ['-c', 'cat > "$1"', 'sh', file], { input: xml });
    networks.add(name);
    const defined = await execa('virsh', ['-c', QEMU_URI, 'net-define', file], { reject: false });
    await execa('rm', ['-f', file]);
    if (defined.exitCode !== 0) throw new Error(`net-define ${name}: ${defined.stderr}`);
    const started = await execa('virsh', ['-c', QEMU_URI, 'net-start', name], { reject: false });
    if (started.exitCode === 0) return { name, bridge, prefix, subnet: `${prefix}.0/24`, dhcpRange: `${prefix}.100-${prefix}.199` };
    // Another test took the subnet in the meantime: try another one.
    await removeNetwork(name);
    if (attempt >= 5) throw new Error(`net-start ${name}: ${started.stderr}`);
  }
}

/** A t- host bridge, up, with a host address in a fresh subnet. */
export async function createBridge(): Promise<{ name: string; subnet: string }> {
  const name = `t-br-${token()}`;
  bridges.add(name);
  await execa('ip', ['link', 'add', name, 'type', 'bridge']);
  await execa('ip', ['link', 'set', name, 'up']);
  const prefix = randomPrefix(await subnetsInUse());
  await execa('ip', ['addr', 'add', `${prefix}.1/24`, 'dev', name]);
  return { name, subnet: `${prefix}.0/24` };
}

async function removeNetwork(name: string): Promise<void> {
  await execa('virsh', ['-c', QEMU_URI, 'net-destroy', name], { reject: false });
  await execa('virsh', ['-c', QEMU_URI, 'net-undefine', name], { reject: false });
  networks.delete(name);
}

export async function cleanupNetworks(): Promise<void> {
  for (const name of [...networks]) await removeNetwork(name);
  for (const name of [...bridges]) await execa('ip', ['link', 'del', name], { reject: false });
  bridges.clear();
}

/** `virsh net-dhcp-leases NET` as mac → IPv4 address. */
export async function leases(networkName: string): Promise<Map<string, string>> {
  const out = await virsh(QEMU_URI, ['net-dhcp-leases', networkName]);
  return new Map([...out.matchAll(/([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s+ipv4\s+([0-9.]+)\//g)].map((match) => [match[1]!, match[2]!]));
}
