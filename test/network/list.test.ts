// `network list` against the real host: t- networks (NAT and isolated, with DHCP) and a
// t- host bridge are made here, and the reply must say what virsh and ip say about them.
import { execa } from 'execa';
import { QEMU_URI, virsh } from '../vm/helpers.js';
import { cleanupNetworks, createBridge, createNetwork, network, type TestNetwork } from './helpers.js';

afterAll(cleanupNetworks);

type Entry = Record<string, unknown>;
const entryOf = (entries: unknown, name: string) => (entries as Entry[]).find((entry) => entry.name === name);

describe('network list', () => {
  let nat: TestNetwork;
  let isolated: TestNetwork;

  beforeAll(async () => {
    nat = await createNetwork('nat');
    isolated = await createNetwork('isolated');
  });

  test('reports both t- networks as net-dumpxml and net-info define them', async () => {
    const reply = await network('list', {});
    expect(reply.statuscode).toBe(0);
    for (const [made, mode] of [[nat, 'nat'], [isolated, 'isolated']] as const) {
      const xml = await virsh(QEMU_URI, ['net-dumpxml', made.name]);
      const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)![1];
      expect(xml.includes('<forward')).toBe(mode === 'nat');
      expect(xml).toContain(`<bridge name='${made.bridge}'`);
      expect(xml).toContain(`<range start='${made.prefix}.100' end='${made.prefix}.199'`);
      expect(entryOf(reply.data.networks, made.name)).toEqual({
        name: made.name, kind: 'libvirt', active: true, autostart: false, persistent: true, bridge: made.bridge,
        forward_mode: mode, subnet: made.subnet, dhcp_range: made.dhcpRange, ipv6_subnet: null, uuid,
      });
      // libvirt's own bridge is not listed a second time as a host bridge.
      expect(entryOf(reply.data.networks, made.bridge)).toBeUndefined();
    }
    const all = reply.data.networks as Entry[];
    expect(reply.data.count).toBe(all.length);
    expect(reply.data.names).toEqual(all.map((entry) => entry.name));
    expect(reply.data.forward_modes).toEqual(all.map((entry) => entry.forward_mode ?? 'host-bridge'));
    // Every libvirt network the host has, no more and no fewer (others' tests may add or remove theirs meanwhile).
    const names = (await virsh(QEMU_URI, ['net-list', '--all', '--name'])).split('\n').map((line) => line.trim()).filter(Boolean);
    expect(names).toEqual(expect.arrayContaining([nat.name, isolated.name]));
    expect(all.filter((entry) => entry.kind === 'libvirt').map((entry) => entry.name)).toEqual(expect.arrayContaining(names.filter((name) => !name.startsWith('t-'))));
  });

  test('an inactive network is reported inactive; autostart as virsh sets it', async () => {
    await virsh(QEMU_URI, ['net-destroy', isolated.name]);
    await virsh(QEMU_URI, ['net-autostart', nat.name]);
    const reply = await network('list', { kind: 'libvirt' });
    expect(entryOf(reply.data.networks, isolated.name)).toMatchObject({ active: false, subnet: isolated.subnet });
    expect(entryOf(reply.data.networks, nat.name)).toMatchObject({ active: true, autostart: true });
    expect((reply.data.networks as Entry[]).every((entry) => entry.kind === 'libvirt')).toBe(true);
    await virsh(QEMU_URI, ['net-autostart', nat.name, '--disable']);
    await virsh(QEMU_URI, ['net-start', isolated.name]);
  });

  test('a host bridge libvirt does not own is listed as kind bridge with its subnet', async () => {
    const bridge = await createBridge();
    const reply = await network('list', { kind: 'bridge' });
    const link = JSON.parse(String((await execa('ip', ['-j', 'link', 'show', bridge.name])).stdout)) as Array<{ flags: string[] }>;
    expect(link[0]!.flags).toContain('UP');
    expect(entryOf(reply.data.networks, bridge.name)).toEqual({
      name: bridge.name, kind: 'bridge', active: true, autostart: null, persistent: null, bridge: bridge.name,
      forward_mode: null, subnet: bridge.subnet, dhcp_range: null, ipv6_subnet: null, uuid: null,
    });
    expect((reply.data.networks as Entry[]).every((entry) => entry.kind === 'bridge')).toBe(true);
    expect(entryOf(reply.data.networks, nat.bridge)).toBeUndefined();
  });
});
