import { parse } from 'yaml';
import { hostnameOfVm, isHostname, newInstanceId, noCloudFiles, type GuestNic } from '../../../src/cloudinit/nocloud.js';

const nics: GuestNic[] = [
  { mac: '52:54:00:aa:bb:01', ipv4: { dhcp: true } },
  { mac: '52:54:00:aa:bb:02', ipv4: { dhcp: false, address: '192.0.2.10', prefix: 24, gateway: '192.0.2.1', nameservers: ['192.0.2.53', '2001:db8::53'] } },
  { mac: '52:54:00:aa:bb:03', ipv4: { dhcp: false, address: '198.51.100.7', prefix: 28, nameservers: [] } },
];

describe('the NoCloud files', () => {
  const files = noCloudFiles({ instanceId: 'iid-1234', hostname: 'web01.example.org', userData: '#cloud-config\n', nics });

  test('meta-data: the instance and its host name', () => {
    expect(parse(files['meta-data'])).toEqual({ 'instance-id': 'iid-1234', 'local-hostname': 'web01.example.org' });
  });

  test('user-data: as composed', () => {
    expect(files['user-data']).toBe('#cloud-config\n');
  });

  test('network-config v2: each NIC matched by MAC and named eth<slot>; DHCP, or static with gateway and nameservers', () => {
    expect(parse(files['network-config'])).toEqual({
      version: 2,
      ethernets: {
        eth0: { match: { macaddress: '52:54:00:aa:bb:01' }, 'set-name': 'eth0', dhcp4: true },
        eth1: {
          match: { macaddress: '52:54:00:aa:bb:02' },
          'set-name': 'eth1',
          dhcp4: false,
          addresses: ['192.0.2.10/24'],
          gateway4: '192.0.2.1',
          nameservers: { addresses: ['192.0.2.53', '2001:db8::53'] },
        },
        eth2: { match: { macaddress: '52:54:00:aa:bb:03' }, 'set-name': 'eth2', dhcp4: false, addresses: ['198.51.100.7/28'] },
      },
    });
  });

  test('no NICs: no interfaces configured', () => {
    expect(parse(noCloudFiles({ instanceId: 'i', hostname: 'h', userData: '#cloud-config\n', nics: [] })['network-config'])).toEqual({ version: 2, ethernets: {} });
  });

  test('a bad host name is refused', () => {
    expect(() => noCloudFiles({ instanceId: 'i', hostname: 'bad_name', userData: '', nics: [] })).toThrow(/Input 'hostname'/);
  });
});

describe('names and instances', () => {
  test('a new instance id each time', () => {
    const ids = new Set(Array.from({ length: 100 }, newInstanceId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^iid-[0-9a-f-]{36}$/);
  });

  test.each([
    ['web01', true],
    ['web-01.example.org', true],
    ['a', true],
    ['-web', false],
    ['web-', false],
    ['web_01', false],
    ['web..org', false],
    ['x'.repeat(64), false],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, false],
  ])('%s is a host name: %s', (name, expected) => {
    expect(isHostname(name)).toBe(expected);
  });

  test('a VM name becomes the host name, _ as -', () => {
    expect(hostnameOfVm('web_01')).toBe('web-01');
    expect(hostnameOfVm('db.prod')).toBe('db.prod');
    expect(hostnameOfVm('x-')).toBeUndefined();
    expect(hostnameOfVm('a..b')).toBeUndefined();
  });
});
