import { parseDomainTypeAttribute, parseDomifaddrIpv4, parseDomstats } from '../../../src/vm/list.js';

describe('vm list parsers (output captured from virsh 9.0)', () => {
  test('domstats: state, vCPUs and memory of running and shut-off guests', () => {
    const text = [
      "Domain: 'web01'",
      '  state.state=1',
      '  state.reason=1',
      '  balloon.current=196608',
      '  balloon.maximum=262144',
      '  vcpu.current=1',
      '  vcpu.maximum=2',
      '',
      "Domain: 'db.old-2'",
      '  state.state=5',
      '  state.reason=0',
      '  balloon.maximum=524288',
      '  vcpu.current=2',
      '  vcpu.maximum=2',
      '',
    ].join('\n');
    expect(parseDomstats(text)).toEqual([
      { name: 'web01', driver: 'qemu', state: 'running', vm_class: null, vcpus: 1, memory_mb: 192 },
      { name: 'db.old-2', driver: 'qemu', state: 'shutoff', vm_class: null, vcpus: 2, memory_mb: 512 },
    ]);
    expect(parseDomstats('')).toEqual([]);
  });

  test('domifaddr: every IPv4 address, a NIC\'s second one on a row of its own', () => {
    const text = [
      ' Name       MAC address          Protocol     Address',
      '-------------------------------------------------------------------------------',
      ' vnet3      52:54:00:a2:6a:17    ipv4         192.168.122.226/24',
      ' -          -                    ipv4         192.168.122.227/24',
      ' vnet4      52:54:00:a2:6a:18    ipv6         fe80::5054:ff:fea2:6a18/64',
      ' vnet5      52:54:00:a2:6a:19    ipv4         10.231.90.60/24',
      '',
    ].join('\n');
    expect(parseDomifaddrIpv4(text)).toEqual(['192.168.122.226', '192.168.122.227', '10.231.90.60']);
    expect(parseDomifaddrIpv4('')).toEqual([]);
  });

  test('dumpxml --xpath /domain/@type', () => {
    expect(parseDomainTypeAttribute(' type="kvm"\n')).toBe('kvm');
    expect(parseDomainTypeAttribute('')).toBeNull();
  });
});
