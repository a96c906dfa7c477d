// Networks made, changed and removed through the network agent, checked against the truth:
// virsh net-dumpxml (running and persistent), net-info, the host's interfaces, libvirt's
// dnsmasq answering DNS on the network's address, and its hosts file for reservations.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { cleanup, createGuest, newVmName, QEMU_URI, virsh } from '../vm/helpers.js';
import { cleanupNetworks, createBridge, createNetwork, freePrefix, network, trackNetwork, type TestNetwork } from './helpers.js';

afterAll(async () => {
  await cleanup();
  await cleanupNetworks();
});

const token = () => randomBytes(3).toString('hex');
/** A network name of this branch's tests, removed by cleanupNetworks() whatever happens. */
const newName = () => trackNetwork(`hres-${token()}`);

async function netInfo(name: string): Promise<Record<string, string>> {
  const out = await virsh(QEMU_URI, ['net-info', name]);
  return Object.fromEntries(out.split('\n').flatMap((line) => {
    const match = /^([^:]+):\s*(.*)$/.exec(line);
    return match ? [[match[1]!.trim(), match[2]!.trim()]] : [];
  }));
}

async function networkNames(): Promise<string[]> {
  return (await virsh(QEMU_URI, ['net-list', '--all', '--name'])).split('\n').map((line) => line.trim()).filter(Boolean).sort();
}

/** `<host mac=… ip=…/>` entries of the running network, or of its definition. */
async function dhcpHosts(name: string, inactive = false): Promise<string[]> {
  const xml = await virsh(QEMU_URI, ['net-dumpxml', ...(inactive ? ['--inactive'] : []), name]);
  return [...xml.matchAll(/<host mac='([^']+)'(?: name='([^']+)')? ip='([^']+)'/g)].map((match) => `${match[1]}=${match[3]}${match[2] ? `(${match[2]})` : ''}`).sort();
}

describe('network create, as asked', () => {
  let name: string;
  let prefix: string;

  beforeAll(async () => {
    name = newName();
    prefix = await freePrefix();
  });

  test('NAT with a subnet, DHCP, a domain and DNS hosts: libvirt has it running and autostarted, and its dnsmasq answers the names', async () => {
    const reply = await network('create', { name, subnet: `${prefix}.1/24`, domain: 'hres.test', dns_hosts: `db=${prefix}.5,web=${prefix}.6,www=${prefix}.6` });
    expect(reply).toMatchObject({ statuscode: 0, data: { name, changed: true, active: true, autostart: true, subnet: `${prefix}.0/24` } });
    const xml = await virsh(QEMU_URI, ['net-dumpxml', name]);
    expect(xml).toMatch(/<forward mode='nat'>/);
    expect(xml).toContain(`<ip address='${prefix}.1' prefix='24'>`);
    expect(xml).toContain(`<range start='${prefix}.2' end='${prefix}.254'/>`);
    expect(xml).toContain("<domain name='hres.test' localOnly='yes'/>");
    expect(await netInfo(name)).toMatchObject({ Active: 'yes', Persistent: 'yes', Autostart: 'yes' });
    const resolver = new Resolver({ timeout: 5000, tries: 3 });
    resolver.setServers([`${prefix}.1`]);
    expect(await resolver.resolve4('db.hres.test')).toEqual([`${prefix}.5`]);
    expect(await resolver.resolve4('www.hres.test')).toEqual([`${prefix}.6`]);
    await expect(resolver.resolve4('nothing.hres.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  test('the same create again is no change; one that differs is a CONFLICT naming each difference, and changes nothing', async () => {
    const before = await virsh(QEMU_URI, ['net-dumpxml', '--inactive', name]);
    expect(await network('create', { name, subnet: `${prefix}.1/24`, domain: 'hres.test', dns_hosts: `www=${prefix}.6,db=${prefix}.5,web=${prefix}.6` })).toMatchObject({
      statuscode: 0, data: { changed: false, active: true },
    });
    const other = await network('create', { name, mode: 'route', subnet: `${prefix}.1/24`, domain: 'hres.test' });
    expect(other).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(other.statusmsg).toContain('mode nat (asked: route)');
    expect(other.statusmsg).toContain(`DNS hosts db=${prefix}.5,web=${prefix}.6,www=${prefix}.6 (asked: none)`);
    expect(other.statusmsg).not.toContain('subnet');
    expect(await virsh(QEMU_URI, ['net-dumpxml', '--inactive', name])).toBe(before);
  });

  test('an existing network that is stopped is started by the same create', async () => {
    await virsh(QEMU_URI, ['net-destroy', name]);
    expect(await network('create', { name, subnet: `${prefix}.1/24`, domain: 'hres.test', dns_hosts: `db=${prefix}.5,web=${prefix}.6,www=${prefix}.6` })).toMatchObject({
      statuscode: 0, data: { changed: true, active: true },
    });
    expect((await netInfo(name)).Active).toBe('yes');
  });

  test('routed, isolated (with and without addresses), and on an existing host bridge', async () => {
    const [routed, isolated, bare, bridged] = [newName(), newName(), newName(), newName()];
    const [routedPrefix, isolatedPrefix] = [await freePrefix(), await freePrefix()];
    const bridge = `hresb${token()}`;
    expect(await network('create', { name: routed, mode: 'route', subnet: `${routedPrefix}.0/24`, dhcp_range: `${routedPrefix}.100-${routedPrefix}.120` })).toMatchObject({ statuscode: 0 });
    expect(await network('create', { name: isolated, mode: 'isolated', subnet: `${isolatedPrefix}.1/24`, dhcp: false, bridge, autostart: false })).toMatchObject({ statuscode: 0 });
    expect(await network('create', { name: bare, mode: 'isolated', start: false })).toMatchObject({ statuscode: 0, data: { active: false } });
    const host = await createBridge();
    expect(await network('create', { name: bridged, mode: 'bridge', bridge: host.name })).toMatchObject({ statuscode: 0, data: { active: true, subnet: null } });

    const routedXml = await virsh(QEMU_URI, ['net-dumpxml', routed]);
    expect(routedXml).toContain("<forward mode='route'/>");
    expect(routedXml).toContain(`<ip address='${routedPrefix}.1' prefix='24'>`);
    expect(routedXml).toContain(`<range start='${routedPrefix}.100' end='${routedPrefix}.120'/>`);
    const isolatedXml = await virsh(QEMU_URI, ['net-dumpxml', isolated]);
    expect(isolatedXml).not.toContain('<forward');
    expect(isolatedXml).not.toContain('<dhcp>');
    expect(isolatedXml).toContain(`<bridge name='${bridge}'`);
    expect(existsSync(`/sys/class/net/${bridge}/bridge`)).toBe(true);
    expect(await netInfo(isolated)).toMatchObject({ Active: 'yes', Autostart: 'no' });
    expect(await virsh(QEMU_URI, ['net-dumpxml', bare])).not.toContain('<ip');
    expect(await netInfo(bare)).toMatchObject({ Active: 'no' });
    expect(await virsh(QEMU_URI, ['net-dumpxml', bridged])).toMatch(new RegExp(`<forward mode='bridge'/>[\\s\\S]*<bridge name='${host.name}'/>`));
  });
});

describe('network create: refusals leave nothing behind', () => {
  let nat: TestNetwork;

  beforeAll(async () => {
    nat = await createNetwork('nat');
  });

  test("a subnet overlapping another network's, or a host route, is a CONFLICT naming it", async () => {
    const name = newName();
    const overlapping = await network('create', { name, subnet: `${nat.prefix}.129/25` });
    expect(overlapping).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT', error_details: { input: 'subnet', network: nat.name } } });
    expect(overlapping.statusmsg).toContain(`overlaps ${nat.subnet} of network '${nat.name}'`);
    const host = await createBridge();
    const routed = await network('create', { name, mode: 'route', subnet: host.subnet.replace(/\.0\/24$/, '.128/25') });
    expect(routed).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT', error_details: { input: 'subnet' } } });
    expect(routed.statusmsg).toContain(`host route ${host.subnet} (dev ${host.name})`);
    expect(await networkNames()).not.toContain(name);
  });

  test.each([
    [{ subnet: '10.231.1.1' }, 4, 'INPUT_INVALID', 'subnet'],
    [{ subnet: '10.231.1.1/24', dhcp_range: '10.231.2.5-10.231.2.9' }, 4, 'INPUT_INVALID', 'dhcp_range'],
    [{ mode: 'route' }, 4, 'INPUT_REQUIRED', 'subnet'],
    [{ mode: 'bridge', bridge: 'hres-nobr' }, 1, 'NOT_FOUND', 'bridge'],
    [{ mode: 'bridge', bridge: 'lo' }, 1, 'NOT_FOUND', 'bridge'],
    [{ mode: 'isolated', bridge: 'lo' }, 1, 'CONFLICT', 'bridge'],
    [{ mode: 'isolated', domain: 'lab' }, 4, 'INPUT_INVALID', 'domain'],
    [{ subnet: '10.231.1.1/24', dns_hosts: 'db=10.231.1' }, 4, 'INPUT_INVALID', 'dns_hosts'],
    [{ name: '-c', mode: 'isolated' }, 4, 'INPUT_INVALID', 'name'],
    [{ name: "x'/><evil/>", mode: 'isolated' }, 4, 'INPUT_INVALID', 'name'],
  ] as const)('%j: statuscode %i, %s naming %s', async (fields, statuscode, code, input) => {
    const name = newName();
    const reply = await network('create', { name, ...fields });
    expect(reply).toMatchObject({ statuscode, data: { error_code: code } });
    expect(reply.statusmsg).toContain(`'${input}'`);
    expect(await networkNames()).not.toContain(name);
  });

  test('a create that fails once libvirt has the network undefines it again (HVAGENT_TEST_FAIL_AFTER=network-create)', async () => {
    const name = newName();
    const bridge = `hresb${token()}`;
    const reply = await network('create', { name, mode: 'isolated', bridge }, { HVAGENT_TEST_FAIL_AFTER: 'network-create' });
    expect(reply).toMatchObject({ statuscode: 5, data: { error_code: 'INTERNAL' } });
    expect(await networkNames()).not.toContain(name);
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
  });
});

describe('a network in use, started and stopped', () => {
  test('delete is refused with NETWORK_IN_USE naming the VM with a NIC on it, unless forced; again it is no change', async () => {
    const name = newName();
    const prefix = await freePrefix();
    expect(await network('create', { name, mode: 'isolated', subnet: `${prefix}.1/24` })).toMatchObject({ statuscode: 0 });
    const vm = newVmName();
    await createGuest(vm, { network: name });
    const refused = await network('delete', { name });
    expect(refused).toMatchObject({ statuscode: 1, data: { error_code: 'NETWORK_IN_USE', error_details: { network: name, used_by: [vm] } } });
    expect(refused.statusmsg).toContain(vm);
    expect((await netInfo(name)).Active).toBe('yes');
    // A shut-off VM is not plugged in: stopping is no harm to it.
    expect(await network('stop', { name })).toMatchObject({ statuscode: 0, data: { changed: true, active: false } });
    expect(await network('delete', { name, force: true })).toMatchObject({ statuscode: 0, data: { changed: true, used_by: [vm] } });
    expect(await networkNames()).not.toContain(name);
    expect(await network('delete', { name })).toMatchObject({ statuscode: 0, data: { changed: false } });
  });

  test('start, stop and autostart change what libvirt says, and are no change when it already says so', async () => {
    const name = newName();
    expect(await network('create', { name, mode: 'isolated', start: false, autostart: false })).toMatchObject({ statuscode: 0, data: { active: false, autostart: false } });
    expect(await network('start', { name })).toMatchObject({ statuscode: 0, data: { changed: true, active: true } });
    expect(await network('start', { name })).toMatchObject({ statuscode: 0, data: { changed: false } });
    expect((await netInfo(name)).Active).toBe('yes');
    expect(await network('autostart', { name })).toMatchObject({ statuscode: 0, data: { changed: true, autostart: true } });
    expect((await netInfo(name)).Autostart).toBe('yes');
    expect(await network('autostart', { name, enabled: false })).toMatchObject({ statuscode: 0, data: { changed: true, autostart: false } });
    expect((await netInfo(name)).Autostart).toBe('no');
    expect(await network('stop', { name })).toMatchObject({ statuscode: 0, data: { changed: true, active: false } });
    expect(await network('stop', { name })).toMatchObject({ statuscode: 0, data: { changed: false } });
    expect((await netInfo(name)).Active).toBe('no');
    expect(await network('start', { name: 'hres-no-such-network' })).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
  });
});

describe('DHCP reservations', () => {
  let name: string;
  let prefix: string;
  const mac = '52:54:00:5e:00:01';

  beforeAll(async () => {
    name = newName();
    prefix = await freePrefix();
    expect(await network('create', { name, mode: 'isolated', subnet: `${prefix}.1/24` })).toMatchObject({ statuscode: 0 });
  });

  test('lease_set reserves the address in the running network, its definition and dnsmasq; again is no change', async () => {
    const reply = await network('lease_set', { network: name, mac: mac.toUpperCase(), ip: `${prefix}.50`, hostname: 'alpha' });
    expect(reply).toMatchObject({ statuscode: 0, data: { network: name, mac, ip: `${prefix}.50`, changed: true, previous: null } });
    expect(await dhcpHosts(name)).toEqual([`${mac}=${prefix}.50(alpha)`]);
    expect(await dhcpHosts(name, true)).toEqual([`${mac}=${prefix}.50(alpha)`]);
    expect(readFileSync(`/var/lib/libvirt/dnsmasq/${name}.hostsfile`, 'utf8')).toContain(`${mac},${prefix}.50,alpha`);
    expect(await network('lease_set', { network: name, mac, ip: `${prefix}.50`, hostname: 'alpha' })).toMatchObject({ statuscode: 0, data: { changed: false } });
  });

  test("a MAC's new address replaces its old one; another MAC cannot take it", async () => {
    expect(await network('lease_set', { network: name, mac, ip: `${prefix}.51` })).toMatchObject({
      statuscode: 0, data: { changed: true, previous: { mac, ip: `${prefix}.50`, name: 'alpha' } },
    });
    expect(await dhcpHosts(name)).toEqual([`${mac}=${prefix}.51`]);
    const taken = await network('lease_set', { network: name, mac: '52:54:00:5e:00:02', ip: `${prefix}.51` });
    expect(taken).toMatchObject({ statuscode: 1, data: { error_code: 'CONFLICT' } });
    expect(taken.statusmsg).toContain(mac);
    expect(await dhcpHosts(name, true)).toEqual([`${mac}=${prefix}.51`]);
  });

  test('addresses outside the guest addresses of the subnet, and networks without DHCP, are refused; nothing changes', async () => {
    for (const ip of [`${prefix}.1`, `${prefix}.0`, `${prefix}.255`, '10.0.0.5']) {
      expect(await network('lease_set', { network: name, mac: '52:54:00:5e:00:03', ip })).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID', error_details: { input: 'ip' } } });
    }
    const noDhcp = newName();
    expect(await network('create', { name: noDhcp, mode: 'isolated' })).toMatchObject({ statuscode: 0 });
    expect(await network('lease_set', { network: noDhcp, mac, ip: `${prefix}.9` })).toMatchObject({ statuscode: 1, data: { error_code: 'UNSUPPORTED' } });
    expect(await network('lease_set', { network: 'hres-no-such-network', mac, ip: `${prefix}.9` })).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND' } });
    expect(await dhcpHosts(name)).toEqual([`${mac}=${prefix}.51`]);
  });

  test('lease_list shows the reservations; lease_remove takes one away from both; again is no change', async () => {
    expect(await network('lease_list', { network: name })).toMatchObject({ statuscode: 0, data: { count: 1, reservations: [{ mac, ip: `${prefix}.51`, name: null }], leases: [] } });
    expect(await network('lease_remove', { network: name, mac })).toMatchObject({ statuscode: 0, data: { changed: true, previous: { ip: `${prefix}.51` } } });
    expect([await dhcpHosts(name), await dhcpHosts(name, true)]).toEqual([[], []]);
    expect(await network('lease_remove', { network: name, mac })).toMatchObject({ statuscode: 0, data: { changed: false } });
  });
});
