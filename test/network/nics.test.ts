// NICs of a running TCG guest and of containers through the network agent, checked
// against the truth: libvirt's live and persistent XML, virsh net-dhcp-leases, and what the
// guest itself prints on its serial console (guest_netwatch, test initrd recipe 3).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { stableMac } from '../../src/network/mac.js';
import {
  ASSETS,
  cleanup,
  CMDLINE,
  containerRootfs,
  createGuest,
  LXC_URI,
  newVmName,
  QEMU_URI,
  READY,
  requireGuestAssets,
  scratchPath,
  serialLog,
  virsh,
  vm,
  waitFor,
  waitForSerial,
} from '../vm/helpers.js';
import { cleanupNetworks, createBridge, createNetwork, leases, network, type TestNetwork } from './helpers.js';

beforeAll(() => {
  requireGuestAssets();
  const recipe = Number(readFileSync(join(ASSETS, 'recipe'), 'utf8'));
  if (!(recipe >= 3)) throw new Error(`guest assets in ${ASSETS} are older than recipe 3 (guest_netwatch): run scripts/libvirt-setup.sh assets`);
});
afterAll(async () => {
  await cleanup();
  await cleanupNetworks();
});

type Nic = Record<string, unknown>;

async function macs(name: string, uri = QEMU_URI, inactive = false): Promise<string[]> {
  const out = await virsh(uri, ['dumpxml', ...(inactive ? ['--inactive'] : []), '--xpath', '/domain/devices/interface/mac/@address', name]);
  return [...out.matchAll(/address="([^"]+)"/g)].map((match) => match[1]!);
}

/** `virsh domiflist` rows: device, type, source, model, mac. */
async function domiflist(name: string, uri = QEMU_URI): Promise<string[][]> {
  return (await virsh(uri, ['domiflist', name])).split('\n').slice(2).map((line) => line.trim().split(/\s+/)).filter((row) => row.length === 5);
}

/** The address the guest printed for `ifname` ("GUEST: dhcp ok eth1 10.x.y.z/24"). */
function guestLease(name: string, ifname: string): string | undefined {
  return new RegExp(`GUEST: dhcp ok ${ifname} ([0-9.]+)/`).exec(serialLog(name))?.[1];
}

describe('NICs of a running TCG guest', () => {
  const name = newVmName();
  const other = newVmName();
  let nat: TestNetwork;
  let isolated: TestNetwork;
  let hotplugged = '';

  beforeAll(async () => {
    [nat, isolated] = [await createNetwork('nat'), await createNetwork('isolated')];
    await createGuest(name, { network: nat.name, cmdline: `${CMDLINE} guest_netwatch`, start: true });
    await createGuest(other);
    await waitForSerial(name, READY);
  });

  test('nic_list shows the NIC with its host device and, once leased, the address net-dhcp-leases has', async () => {
    const [row] = await domiflist(name);
    const [device, , source, model, mac] = row!;
    expect(source).toBe(nat.name);
    const ip = await waitFor(async () => (await leases(nat.name)).get(mac!), `a lease for ${mac} on ${nat.name}`, 180_000);
    const reply = await network('nic_list', { name });
    expect(reply).toMatchObject({ statuscode: 0, data: { name, state: 'running', vm_class: 'qemu', count: 1 } });
    expect(reply.data.nics).toEqual([{
      mac, type: 'network', network: nat.name, bridge: nat.bridge, model, device, ipv4: ip, live: true, persistent: true,
      // Every NIC hvagent makes carries the default filter (hvagent.yaml firewall.default_filter).
      filter: 'clean-traffic', firewall: { filter: 'clean-traffic', allow: [], rule_sets: [] },
    }]);
    await waitForSerial(name, `GUEST: dhcp ok ${ip}/24`);
  });

  test('nic_attach hot-plugs a NIC with a stable MAC: the guest sees it and leases an address on the isolated network', async () => {
    const reply = await network('nic_attach', { name, network: isolated.name });
    expect(reply).toMatchObject({ statuscode: 0, data: { name, changed: true, state: 'running', applied: 'live' } });
    hotplugged = String(reply.data.mac);
    // Slot 1 (the definition had one NIC); the candidate is free unless a 24-bit hash collided.
    expect(hotplugged).toBe(stableMac(name, 1, new Set()));
    expect(await macs(name)).toContain(hotplugged);
    expect(await macs(name, QEMU_URI, true)).toContain(hotplugged);

    await waitForSerial(name, `GUEST: nic eth1 ${hotplugged}`);
    const ip = await waitFor(() => guestLease(name, 'eth1'), 'the guest to lease an address on eth1', 180_000);
    expect(ip.startsWith(`${isolated.prefix}.`)).toBe(true);
    expect((await leases(isolated.name)).get(hotplugged)).toBe(ip);
    const listed = (await network('nic_list', { name })).data.nics as Nic[];
    expect(listed.find((nic) => nic.mac === hotplugged)).toMatchObject({ network: isolated.name, model: 'virtio', ipv4: ip, live: true, persistent: true });
    expect(reply.data.nic).toMatchObject({ mac: hotplugged, network: isolated.name, live: true, persistent: true });
    expect(String((reply.data.nic as Nic).device)).toMatch(/^vnet\d+$/);
  });

  test('the same MAC on the same network again is no change; on another network, or another VM, a CONFLICT that changes nothing', async () => {
    const before = [await virsh(QEMU_URI, ['dumpxml', name]), await virsh(QEMU_URI, ['dumpxml', '--inactive', other])];
    expect(await network('nic_attach', { name, network: isolated.name, mac: hotplugged.toUpperCase() })).toMatchObject({
      statuscode: 0, data: { changed: false, mac: hotplugged, applied: 'live' },
    });
    expect(await network('nic_attach', { name, network: nat.name, mac: hotplugged })).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    const taken = await network('nic_attach', { name: other, network: nat.name, mac: hotplugged });
    expect(taken).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(taken.statusmsg).toContain(`'${name}'`);
    expect([await virsh(QEMU_URI, ['dumpxml', name]), await virsh(QEMU_URI, ['dumpxml', '--inactive', other])]).toEqual(before);
  });

  test('a stopped VM gets the NIC in its definition for the next boot, on a network or a host bridge', async () => {
    const bridge = await createBridge();
    const onBridge = await network('nic_attach', { name: other, bridge: bridge.name, mac: '52:54:00:fe:00:01', model: 'e1000e' });
    expect(onBridge).toMatchObject({ statuscode: 0, data: { changed: true, state: 'shutoff', applied: 'next_boot', mac: '52:54:00:fe:00:01' } });
    const generated = await network('nic_attach', { name: other, network: nat.name });
    expect(generated).toMatchObject({ statuscode: 0, data: { changed: true, applied: 'next_boot' } });
    expect(generated.data.mac).toBe(stableMac(other, 1, new Set()));
    expect(await domiflist(other)).toEqual([
      ['-', 'bridge', bridge.name, 'e1000e', '52:54:00:fe:00:01'],
      ['-', 'network', nat.name, 'virtio', generated.data.mac],
    ]);
    expect((await network('nic_list', { name: other })).data).toMatchObject({ count: 2, state: 'shutoff' });
    // Its MACs are now taken for everyone else.
    const taken = await network('nic_attach', { name, bridge: bridge.name, mac: '52:54:00:FE:00:01' });
    expect(taken).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(taken.statusmsg).toContain(`'${other}'`);
  });

  test('hostile or unknown names and bad MACs are refused before anything changes', async () => {
    const before = await virsh(QEMU_URI, ['dumpxml', '--inactive', name]);
    const refused = async (data: Record<string, unknown>, code: string) =>
      expect(await network('nic_attach', { name, ...data })).toMatchObject({ statuscode: code === 'NOT_FOUND' ? 1 : 4, data: { error_code: code } });
    await refused({ network: '../default' }, 'INPUT_INVALID');
    await refused({ network: '-c' }, 'INPUT_INVALID');
    await refused({ network: "x'/><evil/>" }, 'INPUT_INVALID');
    await refused({ bridge: 'virbr0;reboot' }, 'INPUT_INVALID');
    await refused({ bridge: 'a-bridge-name-too-long' }, 'INPUT_INVALID');
    await refused({ network: 't-no-such-network' }, 'NOT_FOUND');
    await refused({ bridge: 't-no-such-br' }, 'NOT_FOUND');
    await refused({ bridge: 'lo' }, 'NOT_FOUND');
    await refused({}, 'INPUT_REQUIRED');
    await refused({ network: nat.name, bridge: 'virbr0' }, 'INPUT_INVALID');
    await refused({ network: nat.name, mac: '01:00:5e:00:00:01' }, 'INPUT_INVALID');
    await refused({ network: nat.name, mac: '00:00:00:00:00:00' }, 'INPUT_INVALID');
    await refused({ network: nat.name, mac: '52:54:00:00:00:0g' }, 'INPUT_INVALID');
    expect(await network('nic_attach', { name: 't-no-such-vm', network: nat.name })).toMatchObject({ data: { error_code: 'NOT_FOUND' } });
    expect(await virsh(QEMU_URI, ['dumpxml', '--inactive', name])).toBe(before);
  });

  test('nic_detach unplugs it from the running guest and the definition; again is no change', async () => {
    const reply = await network('nic_detach', { name, mac: hotplugged });
    expect(reply).toMatchObject({ statuscode: 0, data: { changed: true, mac: hotplugged } });
    expect(['live', 'live_pending']).toContain(reply.data.applied);
    expect(await macs(name, QEMU_URI, true)).not.toContain(hotplugged);
    await waitFor(async () => !(await macs(name)).includes(hotplugged), 'the NIC to leave the running domain');
    await waitForSerial(name, 'GUEST: nic gone eth1');
    expect(await network('nic_detach', { name, mac: hotplugged })).toMatchObject({ statuscode: 0, data: { changed: false, applied: null } });
    expect((await network('nic_list', { name })).data.count).toBe(1);
  });
});

describe('NICs of containers', () => {
  let nat: TestNetwork;
  beforeAll(async () => {
    nat = await createNetwork('nat');
  });

  test('a container with a network namespace of its own takes a NIC live, inside that namespace', async () => {
    const name = newVmName();
    expect(await vm('create', { name, vm_class: 'lxc', rootfs: await containerRootfs(), memory_mb: 128, network: nat.name, start: true })).toMatchObject({ statuscode: 0 });
    const reply = await network('nic_attach', { name, network: nat.name, mac: '52:54:00:fe:00:02' });
    expect(reply).toMatchObject({ statuscode: 0, data: { changed: true, state: 'running', vm_class: 'lxc', applied: 'live' } });
    const inside = await execa('virsh', ['-c', LXC_URI, 'lxc-enter-namespace', name, '--noseclabel', '/bin/ip', 'link'], { reject: false });
    expect(inside.stdout).toContain('52:54:00:fe:00:02');
    expect(await macs(name, LXC_URI, true)).toContain('52:54:00:fe:00:02');

    expect(await network('nic_detach', { name, mac: '52:54:00:fe:00:02' })).toMatchObject({ statuscode: 0, data: { changed: true, applied: 'live' } });
    const after = await execa('virsh', ['-c', LXC_URI, 'lxc-enter-namespace', name, '--noseclabel', '/bin/ip', 'link'], { reject: false });
    expect(after.stdout).not.toContain('52:54:00:fe:00:02');
    expect(await macs(name, LXC_URI, true)).not.toContain('52:54:00:fe:00:02');
  });

  test('a container hvagent creates without a NIC still has a namespace of its own, so it takes a NIC live', async () => {
    const name = newVmName();
    expect(await vm('create', { name, vm_class: 'lxc', rootfs: await containerRootfs(), memory_mb: 128, start: true })).toMatchObject({ statuscode: 0 });
    expect(await virsh(LXC_URI, ['dumpxml', name])).toContain('<privnet/>');
    const reply = await network('nic_attach', { name, network: nat.name, mac: '52:54:00:fe:00:04' });
    expect(reply).toMatchObject({ statuscode: 0, data: { changed: true, state: 'running', applied: 'live' } });
    const inside = await execa('virsh', ['-c', LXC_URI, 'lxc-enter-namespace', name, '--noseclabel', '/bin/ip', 'link'], { reject: false });
    expect(inside.stdout).toContain('52:54:00:fe:00:04');
    expect(String((await execa('ip', ['-br', 'link'])).stdout)).not.toContain('52:54:00:fe:00:04');
  });

  test("a container defined elsewhere that shares the host's network namespace gets the NIC at its next boot only", async () => {
    // hvagent gives every container <privnet/>; one defined by hand without it and without a
    // NIC shares the host's namespace, where a live NIC would land on the host.
    const name = newVmName();
    const rootfs = await containerRootfs();
    const xml = scratchPath('ct.xml');
    writeFileSync(
      xml,
      `<domain type='lxc'><name>${name}</name><memory unit='MiB'>128</memory><os><type>exe</type><init>/sbin/init</init></os>` +
        `<devices><filesystem type='mount'><source dir='${rootfs}'/><target dir='/'/></filesystem><console type='pty'/></devices></domain>`,
    );
    await virsh(LXC_URI, ['define', xml]);
    await virsh(LXC_URI, ['start', name]);
    const reply = await network('nic_attach', { name, network: nat.name, mac: '52:54:00:fe:00:03' });
    expect(reply).toMatchObject({ statuscode: 0, data: { changed: true, state: 'running', applied: 'next_boot' } });
    expect(await macs(name, LXC_URI)).toEqual([]);
    expect(await macs(name, LXC_URI, true)).toEqual(['52:54:00:fe:00:03']);
    // No veth of it landed in the host's namespace.
    expect(String((await execa('ip', ['-br', 'link'])).stdout)).not.toContain('52:54:00:fe:00:03');
  });
});
