import { parseIpRouteJson } from '../../../src/network/host-routes.js';
import { parseCidr, subnetOf, subnetsOverlap } from '../../../src/network/ipv4.js';
import { buildNetworkXml, networkDifferences, networkSpec, type NetworkCreateRequest } from '../../../src/network/network-spec.js';
import { parseNetworkXml } from '../../../src/network/network-xml.js';
import { refusalOf } from '../refusal.js';

// `network create` requests checked and turned into libvirt XML without touching the host:
// every refusal names its input, and the XML, read back by the parser `network list` uses,
// says what was asked.

const refusal = (request: NetworkCreateRequest) => refusalOf(() => networkSpec(request));

const subnet = (cidr: string) => {
  const parsed = parseCidr(cidr)!;
  return subnetOf(parsed.address, parsed.prefix);
};

describe('network create: the spec', () => {
  test('NAT with a subnet: the host takes the address given, DHCP serves the rest of the subnet', () => {
    const xml = buildNetworkXml(networkSpec({ name: 'n1', mode: 'nat', subnet: '10.20.30.1/24' }));
    expect(parseNetworkXml(xml)).toMatchObject({
      name: 'n1', forward_mode: 'nat', subnet: '10.20.30.0/24', address: '10.20.30.1', dhcp: true, dhcp_range: '10.20.30.2-10.20.30.254', bridge: null,
    });
  });

  test('the network address means its first host; a host at the top of the subnet gets DHCP below it', () => {
    expect(parseNetworkXml(buildNetworkXml(networkSpec({ name: 'n', mode: 'route', subnet: '10.20.30.0/24' })))).toMatchObject({ forward_mode: 'route', address: '10.20.30.1' });
    expect(parseNetworkXml(buildNetworkXml(networkSpec({ name: 'n', mode: 'nat', subnet: '10.20.30.254/24' })))).toMatchObject({ dhcp_range: '10.20.30.1-10.20.30.253' });
  });

  test('isolated without a subnet is a bare bridge; dhcp=false keeps the address without a DHCP server', () => {
    expect(parseNetworkXml(buildNetworkXml(networkSpec({ name: 'n', mode: 'isolated' })))).toMatchObject({ forward_mode: 'isolated', subnet: null, dhcp: false });
    expect(parseNetworkXml(buildNetworkXml(networkSpec({ name: 'n', mode: 'isolated', subnet: '10.1.0.1/16', dhcp: false })))).toMatchObject({ subnet: '10.1.0.0/16', dhcp: false, dhcp_range: null });
  });

  test('a bridge-mode network names the existing bridge and nothing else', () => {
    const xml = buildNetworkXml(networkSpec({ name: 'lan', mode: 'bridge', bridge: 'br0' }));
    expect(parseNetworkXml(xml)).toMatchObject({ forward_mode: 'bridge', bridge: 'br0', subnet: null });
    expect(xml).not.toContain('stp');
  });

  test('domain and DNS hosts: names grouped by address, served on the network only', () => {
    const spec = networkSpec({ name: 'n', mode: 'nat', subnet: '10.20.30.1/24', domain: 'lab.example', dnsHosts: 'db=10.20.30.5, web=10.20.30.6,www=10.20.30.6' });
    const xml = buildNetworkXml(spec);
    expect(parseNetworkXml(xml)).toMatchObject({
      domain: 'lab.example',
      dns_hosts: [{ ip: '10.20.30.5', hostnames: ['db'] }, { ip: '10.20.30.6', hostnames: ['web', 'www'] }],
    });
    expect(xml).toContain('localOnly="yes"');
  });

  test('hostile names are text in the XML, never markup', () => {
    expect(() => networkSpec({ name: "x'/><evil/>", mode: 'isolated' })).toThrow(/Input 'name'/);
    expect(refusal({ name: 'n', mode: 'nat', subnet: '10.0.0.1/24', domain: 'a.<b>' }).details).toEqual({ input: 'domain' });
    expect(refusal({ name: 'n', mode: 'nat', subnet: '10.0.0.1/24', dnsHosts: 'a<b>=10.0.0.5' }).details).toEqual({ input: 'dns_hosts' });
  });

  test.each([
    [{ mode: 'nat' }, 'INPUT_REQUIRED', 'subnet'],
    [{ mode: 'route' }, 'INPUT_REQUIRED', 'subnet'],
    [{ mode: 'nat', subnet: '10.0.0.1' }, 'INPUT_INVALID', 'subnet'],
    [{ mode: 'nat', subnet: '10.0.0.1/31' }, 'INPUT_INVALID', 'subnet'],
    [{ mode: 'nat', subnet: '10.0.0.1/4' }, 'INPUT_INVALID', 'subnet'],
    [{ mode: 'nat', subnet: '10.0.0.255/24' }, 'INPUT_INVALID', 'subnet'],
    [{ mode: 'nat', subnet: '300.0.0.1/24' }, 'INPUT_INVALID', 'subnet'],
    [{ mode: 'nat', subnet: '10.0.0.1/24', dhcpRange: '10.0.0.50' }, 'INPUT_INVALID', 'dhcp_range'],
    [{ mode: 'nat', subnet: '10.0.0.1/24', dhcpRange: '10.0.1.2-10.0.1.9' }, 'INPUT_INVALID', 'dhcp_range'],
    [{ mode: 'nat', subnet: '10.0.0.1/24', dhcpRange: '10.0.0.9-10.0.0.2' }, 'INPUT_INVALID', 'dhcp_range'],
    [{ mode: 'nat', subnet: '10.0.0.1/24', dhcpRange: '10.0.0.1-10.0.0.9' }, 'INPUT_INVALID', 'dhcp_range'],
    [{ mode: 'nat', subnet: '10.0.0.1/24', dhcpRange: '10.0.0.0-10.0.0.9' }, 'INPUT_INVALID', 'dhcp_range'],
    [{ mode: 'nat', subnet: '10.0.0.1/24', dhcp: false, dhcpRange: '10.0.0.2-10.0.0.9' }, 'INPUT_INVALID', 'dhcp_range'],
    [{ mode: 'isolated', dhcp: true }, 'INPUT_INVALID', 'dhcp'],
    [{ mode: 'isolated', domain: 'lab' }, 'INPUT_INVALID', 'domain'],
    [{ mode: 'bridge' }, 'INPUT_REQUIRED', 'bridge'],
    [{ mode: 'bridge', bridge: 'br0', subnet: '10.0.0.1/24' }, 'INPUT_INVALID', 'subnet'],
    [{ mode: 'bridge', bridge: 'br0', domain: 'lab' }, 'INPUT_INVALID', 'domain'],
    [{ mode: 'bridge', bridge: 'bridge-name-too-long' }, 'INPUT_INVALID', 'bridge'],
    [{ mode: 'bridge', bridge: '-c' }, 'INPUT_INVALID', 'bridge'],
    [{ mode: 'nat', subnet: '10.0.0.1/24', dnsHosts: 'db' }, 'INPUT_INVALID', 'dns_hosts'],
    [{ mode: 'nat', subnet: '10.0.0.1/24', dnsHosts: 'db=10.0.0.5,db=10.0.0.5' }, 'INPUT_INVALID', 'dns_hosts'],
  ] as const)('%j is %s naming %s', (fields, code, input) => {
    const error = refusal({ name: 'n', ...fields } as NetworkCreateRequest);
    expect(error.code).toBe(code);
    expect(error.details?.input).toBe(input);
    expect(error.message).toContain(`'${input}'`);
  });
});

describe('network create: an existing network compared with the request', () => {
  const existing = parseNetworkXml(buildNetworkXml(networkSpec({ name: 'n', mode: 'nat', subnet: '10.20.30.1/24', domain: 'lab', dnsHosts: 'db=10.20.30.5' })));

  test('the same request finds no difference (DNS hosts in any order)', () => {
    expect(networkDifferences(networkSpec({ name: 'n', mode: 'nat', subnet: '10.20.30.1/24', domain: 'lab', dnsHosts: 'db=10.20.30.5' }), existing)).toEqual([]);
  });

  test('each difference is named once, with what is there and what was asked', () => {
    expect(networkDifferences(networkSpec({ name: 'n', mode: 'route', subnet: '10.20.31.1/24' }), existing)).toEqual([
      'mode nat (asked: route)',
      'subnet 10.20.30.0/24 (asked: 10.20.31.0/24)',
      'domain lab (asked: none)',
      'DNS hosts db=10.20.30.5 (asked: none)',
    ]);
    expect(networkDifferences(networkSpec({ name: 'n', mode: 'nat', subnet: '10.20.30.9/24', dhcpRange: '10.20.30.10-10.20.30.20', domain: 'lab', dnsHosts: 'db=10.20.30.5' }), existing)).toEqual([
      'host address 10.20.30.1 (asked: 10.20.30.9)',
      'DHCP range 10.20.30.2-10.20.30.254 (asked: 10.20.30.10-10.20.30.20)',
    ]);
  });

  test('a bridge is compared only when the request names one', () => {
    const withBridge = { ...existing, bridge: 'virbr7' };
    expect(networkDifferences(networkSpec({ name: 'n', mode: 'nat', subnet: '10.20.30.1/24', domain: 'lab', dnsHosts: 'db=10.20.30.5' }), withBridge)).toEqual([]);
    expect(networkDifferences(networkSpec({ name: 'n', mode: 'nat', subnet: '10.20.30.1/24', bridge: 'virbr8', domain: 'lab', dnsHosts: 'db=10.20.30.5' }), withBridge)).toEqual(['bridge virbr7 (asked: virbr8)']);
  });
});

describe('subnets and host routes', () => {
  test('ip -j -4 route show table all: every route but the default ones, host routes as /32', () => {
    const routes = parseIpRouteJson(JSON.stringify([
      { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
      { dst: '10.99.0.0/24', dev: 'hv-veth1', protocol: 'kernel' },
      { type: 'local', dst: '10.99.0.1', dev: 'hv-veth1', table: 'local' },
      { type: 'blackhole', dst: '172.16.0.0/12' },
    ]));
    expect(routes.map((route) => [route.destination, route.device, route.table, route.type])).toEqual([
      ['10.99.0.0/24', 'hv-veth1', 'main', 'unicast'],
      ['10.99.0.1', 'hv-veth1', 'local', 'local'],
      ['172.16.0.0/12', null, 'main', 'blackhole'],
    ]);
    expect(routes[1]!.subnet).toEqual(subnet('10.99.0.1/32'));
  });

  test('overlap: nested, equal and adjacent subnets', () => {
    expect(subnetsOverlap(subnet('10.0.0.0/8'), subnet('10.20.30.0/24'))).toBe(true);
    expect(subnetsOverlap(subnet('10.20.30.0/24'), subnet('10.20.30.0/24'))).toBe(true);
    expect(subnetsOverlap(subnet('10.20.30.128/25'), subnet('10.20.30.0/24'))).toBe(true);
    expect(subnetsOverlap(subnet('10.20.30.0/25'), subnet('10.20.30.128/25'))).toBe(false);
    expect(subnetsOverlap(subnet('10.20.31.0/24'), subnet('10.20.30.0/24'))).toBe(false);
  });
});
