import type { NetworkFound } from '../../../src/network/libvirt-networks.js';
import { parseNetworkXml } from '../../../src/network/network-xml.js';
import { checkReservation } from '../../../src/network/reservations.js';
import { parseIpv4Input as parseNicAddressing } from '../../../src/network/addressing.js';
import { reservedAddresses } from '../../../src/provisioning/plan.js';
import { refusalOf as refusal } from '../refusal.js';

// What a DHCP reservation must be before hvagent asks libvirt for it (libvirt itself takes
// an address outside the subnet, and its `modify` matches on the address as well as the MAC).

const network = (dhcp = `<dhcp><range start='10.0.0.100' end='10.0.0.199'/><host mac='52:54:00:00:00:0a' ip='10.0.0.10' name='ten'/></dhcp>`): NetworkFound => ({
  ...parseNetworkXml(`<network><name>n</name><ip address='10.0.0.1' prefix='24'>${dhcp}</ip></network>`),
  active: true,
  autostart: true,
  persistent: true,
});


describe('DHCP reservations', () => {
  test('a guest address, inside or outside the DHCP range, for a MAC in any case', () => {
    expect(checkReservation(network(), { mac: '52:54:00:AB:00:01', ip: '10.0.0.50', hostname: 'web' })).toEqual({ mac: '52:54:00:ab:00:01', ip: '10.0.0.50', name: 'web' });
    expect(checkReservation(network(), { mac: '52:54:00:ab:00:01', ip: '10.0.0.150' })).toEqual({ mac: '52:54:00:ab:00:01', ip: '10.0.0.150', name: null });
    // The MAC's own reservation may be set again (or changed).
    expect(checkReservation(network(), { mac: '52:54:00:00:00:0a', ip: '10.0.0.10' }).ip).toBe('10.0.0.10');
  });

  test.each([
    ['10.0.1.5', 'ip'], ['10.0.0.0', 'ip'], ['10.0.0.255', 'ip'], ['10.0.0.1', 'ip'], ['10.0.0', 'ip'],
  ])('%s is not a guest address of 10.0.0.0/24: INPUT_INVALID naming %s', (ip, input) => {
    const error = refusal(() => checkReservation(network(), { mac: '52:54:00:ab:00:01', ip }));
    expect([error.code, error.details]).toEqual(['INPUT_INVALID', { input }]);
  });

  test("another MAC's reservation or lease of the address is a CONFLICT naming that MAC", () => {
    expect(refusal(() => checkReservation(network(), { mac: '52:54:00:ab:00:01', ip: '10.0.0.10' })).message).toContain('52:54:00:00:00:0a');
    const leased = refusal(() => checkReservation(network(), { mac: '52:54:00:ab:00:01', ip: '10.0.0.120' }, [{ mac: '52:54:00:ab:00:09', ip: '10.0.0.120', prefix: 24, expiry: '2026-11-25 20:00:00' }]));
    expect([leased.code, leased.details?.mac]).toEqual(['CONFLICT', '52:54:00:ab:00:09']);
  });

  test('bad MACs and host names, and networks without DHCP, are refused', () => {
    expect(refusal(() => checkReservation(network(), { mac: '01:00:5e:00:00:01', ip: '10.0.0.50' })).details).toEqual({ input: 'mac' });
    expect(refusal(() => checkReservation(network(), { mac: '52:54:00:ab:00:01', ip: '10.0.0.50', hostname: 'a_b' })).details).toEqual({ input: 'hostname' });
    expect(refusal(() => checkReservation(network(''), { mac: '52:54:00:ab:00:01', ip: '10.0.0.50' })).code).toBe('UNSUPPORTED');
  });
});

describe('vm create ipv4', () => {
  test('dhcp or dhcp:ADDRESS per NIC, in the order of the networks', () => {
    const addressing = parseNicAddressing('dhcp, dhcp:10.0.0.50');
    expect(addressing).toEqual([{ kind: 'dhcp' }, { kind: 'reserved', address: '10.0.0.50' }]);
    expect([...reservedAddresses(['a', 'b', 'c'], addressing)]).toEqual([['b', '10.0.0.50']]);
  });

  test.each(['static', 'dhcp:', 'dhcp:10.0.0', 'dhcp:10.0.0.5/24', '10.0.0.5'])('%j is INPUT_INVALID naming ipv4', (text) => {
    expect(refusal(() => parseNicAddressing(text)).details).toEqual({ input: 'ipv4' });
  });

  test('one address reserved twice is refused', () => {
    expect(refusal(() => reservedAddresses(['a', 'b'], parseNicAddressing('dhcp:10.0.0.5,dhcp:10.0.0.5'))).details).toEqual({ input: 'ipv4' });
  });
});
