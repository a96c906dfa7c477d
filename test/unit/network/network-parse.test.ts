import { parseIpAddrJson } from '../../../src/network/host-bridges.js';
import { prefixOfNetmask, subnetCidr } from '../../../src/network/ipv4.js';
import { parseLeases } from '../../../src/network/leases.js';
import { parseNetList } from '../../../src/network/libvirt-networks.js';
import { parseNetworkXml } from '../../../src/network/network-xml.js';
import { parseDomainNics } from '../../../src/network/domain-nics.js';
import { buildInterfaceXml } from '../../../src/network/nic-xml.js';

describe('network definitions', () => {
  test('a NAT network: mode, bridge, subnet from the netmask, first DHCP range, IPv6', () => {
    const xml = `<network><name>default</name><uuid>u-1</uuid><forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
      <bridge name='virbr0' stp='on' delay='0'/><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/><range start='192.168.122.3' end='192.168.122.4'/></dhcp></ip>
      <ip family='ipv6' address='fd00:1::1' prefix='64'/></network>`;
    expect(parseNetworkXml(xml)).toEqual({
      name: 'default', uuid: 'u-1', forward_mode: 'nat', bridge: 'virbr0', subnet: '192.168.122.0/24', address: '192.168.122.1',
      dhcp_range: '192.168.122.2-192.168.122.254', ipv6_subnet: 'fd00:1::1/64', subnets: ['192.168.122.0/24'], dhcp: true,
      dhcp_hosts: [], domain: null, dns_hosts: [],
    });
  });

  test('no <forward> is isolated; <forward/> without a mode is NAT; a prefix works like a netmask', () => {
    expect(parseNetworkXml(`<network><name>iso</name><bridge name='virbr9'/><ip address='10.1.2.3' prefix='20'/></network>`)).toMatchObject({
      forward_mode: 'isolated', subnet: '10.1.0.0/20', dhcp_range: null, ipv6_subnet: null,
    });
    expect(parseNetworkXml(`<network><name>n</name><forward/></network>`)).toMatchObject({ forward_mode: 'nat', subnet: null, bridge: null });
    expect(parseNetworkXml(`<network><name>b</name><forward mode='bridge'/><bridge name='br0'/></network>`)).toMatchObject({ forward_mode: 'bridge', bridge: 'br0' });
  });

  test('net-list --all rows', () => {
    const out = ` Name      State      Autostart   Persistent\n----------------------------------------------\n default   active     no          yes\n t-iso     inactive   yes         no\n\n`;
    expect(parseNetList(out)).toEqual([
      { name: 'default', active: true, autostart: false, persistent: true },
      { name: 't-iso', active: false, autostart: true, persistent: false },
    ]);
  });

  test('IPv4 helpers', () => {
    expect(prefixOfNetmask('255.255.255.0')).toBe(24);
    expect(prefixOfNetmask('255.255.255.255')).toBe(32);
    expect(prefixOfNetmask('255.0.255.0')).toBeUndefined();
    expect(subnetCidr('10.234.5.77', 24)).toBe('10.234.5.0/24');
    expect(subnetCidr('10.234.5.77', 0)).toBe('0.0.0.0/0');
    expect(subnetCidr('300.1.1.1', 24)).toBeUndefined();
  });
});

describe('leases, bridges and NICs', () => {
  test('net-dhcp-leases rows: IPv4 only, newest last, MAC lowercased', () => {
    const out = ` Expiry Time           MAC address         Protocol   IP address          Hostname   Client ID or DUID
-------------------------------------------------------------------------------------------------------------
 2026-11-21 10:00:00   52:54:00:AA:BB:CC   ipv4       10.234.5.17/24      guest      01:52:54:00:aa:bb:cc
 2026-11-21 09:00:00   52:54:00:aa:bb:dd   ipv4       10.234.5.18/24      -          -
 2026-11-21 09:00:00   52:54:00:aa:bb:dd   ipv6       fd00::5/64          -          -
`;
    expect(parseLeases(out)).toEqual([
      { expiry: '2026-11-21 09:00:00', mac: '52:54:00:aa:bb:dd', ip: '10.234.5.18', prefix: 24 },
      { expiry: '2026-11-21 10:00:00', mac: '52:54:00:aa:bb:cc', ip: '10.234.5.17', prefix: 24 },
    ]);
  });

  test('ip -j addr show type bridge', () => {
    const out = JSON.stringify([
      { ifname: 'virbr0', flags: ['BROADCAST', 'UP'], address: '52:54:00:04:6d:ef', addr_info: [{ family: 'inet6', local: 'fe80::1', prefixlen: 64 }, { family: 'inet', local: '192.168.122.1', prefixlen: 24 }] },
      { ifname: 'br1', flags: ['BROADCAST'], addr_info: [] },
    ]);
    expect(parseIpAddrJson(out)).toEqual([
      { name: 'virbr0', up: true, subnet: '192.168.122.0/24', mac: '52:54:00:04:6d:ef' },
      { name: 'br1', up: false, subnet: null, mac: null },
    ]);
    expect(parseIpAddrJson('')).toEqual([]);
  });

  test('domain NICs: source, model and host device', () => {
    const xml = `<domain type='qemu'><name>v</name><devices>
      <interface type='network'><mac address='52:54:00:AA:00:01'/><source network='default' portid='x' bridge='virbr0'/><target dev='vnet3'/><model type='virtio'/></interface>
      <interface type='bridge'><mac address='52:54:00:aa:00:02'/><source bridge='br0'/></interface></devices></domain>`;
    expect(parseDomainNics(xml)).toEqual([
      { mac: '52:54:00:aa:00:01', type: 'network', network: 'default', bridge: 'virbr0', model: 'virtio', device: 'vnet3', filter: null },
      { mac: '52:54:00:aa:00:02', type: 'bridge', network: null, bridge: 'br0', model: null, device: null, filter: null },
    ]);
  });

  test('interface XML is built, not concatenated: hostile values stay attribute text', () => {
    const xml = buildInterfaceXml({ source: { network: `n'/><evil x='` }, mac: '52:54:00:00:00:01', model: 'virtio' });
    expect(xml).not.toContain('<evil');
    expect(parseDomainNics(`<domain><devices>${xml}</devices></domain>`)).toEqual([
      { mac: '52:54:00:00:00:01', type: 'network', network: `n'/><evil x='`, bridge: null, model: 'virtio', device: null, filter: null },
    ]);
    expect(buildInterfaceXml({ source: { bridge: 'br0' }, mac: '52:54:00:00:00:02' })).not.toContain('model');
  });
});
