import { HvError } from '../../../src/core/errors.js';
import { addressingMismatch, parseIpv4Input, parseNameservers } from '../../../src/network/addressing.js';

function refusal(run: () => unknown, input: string): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(HvError);
    expect((error as HvError).code).toBe('INPUT_INVALID');
    expect((error as HvError).details).toEqual({ input });
    return (error as HvError).message;
  }
  throw new Error('accepted');
}

describe('input ipv4', () => {
  test('one entry per NIC: dhcp, or an address with its prefix and an optional gateway', () => {
    expect(parseIpv4Input('dhcp,192.0.2.10/24@192.0.2.1, 10.1.2.3/8')).toEqual([
      { kind: 'dhcp' },
      { kind: 'static', address: '192.0.2.10', prefix: 24, gateway: '192.0.2.1' },
      { kind: 'static', address: '10.1.2.3', prefix: 8 },
    ]);
    expect(parseIpv4Input('192.0.2.9/32')).toEqual([{ kind: 'static', address: '192.0.2.9', prefix: 32 }]);
  });

  test.each([
    ['static', /entry 1 \("static"\) is none of dhcp, dhcp:ADDRESS .* and ADDRESS\/PREFIX\[@GATEWAY\]/],
    ['192.0.2.10', /is none of dhcp/],
    ['dhcp,,dhcp', /entry 2 \(""\) is none of/],
    ['300.0.2.10/24', /300\.0\.2\.10 is not an IPv4 address/],
    ['192.0.2.10/33', /prefix length must be 1 to 32/],
    ['192.0.2.10/0', /prefix length must be 1 to 32/],
    ['192.0.2.0/24', /192\.0\.2\.0 is the network address/],
    ['192.0.2.255/24', /192\.0\.2\.255 is the broadcast address/],
    ['127.0.0.5/8', /not a unicast host address/],
    ['224.0.0.5/4', /not a unicast host address/],
    ['192.0.2.10/24@192.0.3.1', /gateway 192\.0\.3\.1 is outside 192\.0\.2\.0\/24/],
    ['192.0.2.10/24@192.0.2.10', /the gateway is the address itself/],
    ['192.0.2.10/24@gw', /is none of dhcp/],
  ])('%s is refused', (text, message) => {
    expect(refusal(() => parseIpv4Input(text), 'ipv4')).toMatch(message);
  });

  test('a static address outside the libvirt network it is on does not fit; DHCP and networks without a subnet always do', () => {
    const network = { name: 'lan', subnet: '192.168.50.0/24' };
    expect(addressingMismatch({ kind: 'static', address: '192.168.51.4', prefix: 24 }, network)).toBe("192.168.51.4 is outside network 'lan' (192.168.50.0/24)");
    expect(addressingMismatch({ kind: 'static', address: '192.168.50.4', prefix: 24 }, network)).toBeUndefined();
    expect(addressingMismatch({ kind: 'dhcp' }, network)).toBeUndefined();
    expect(addressingMismatch({ kind: 'static', address: '10.0.0.4', prefix: 8 }, { name: 'bridged', subnet: null })).toBeUndefined();
  });
});

describe('input dns', () => {
  test('IPv4 and IPv6 nameservers', () => {
    expect(parseNameservers('192.0.2.53, 2001:db8::53')).toEqual(['192.0.2.53', '2001:db8::53']);
  });

  test.each([
    ['192.0.2', /"192\.0\.2" is not an IPv4 or IPv6 address/],
    ['1.1.1.1,8.8.8.8,9.9.9.9,8.8.4.4', /4 nameservers given; a resolver uses at most 3/],
    ['1.1.1.1,', /"" is not an IPv4 or IPv6 address/],
  ])('%s is refused', (text, message) => {
    expect(refusal(() => parseNameservers(text), 'dns')).toMatch(message);
  });
});
