import { pxeAddressing, pxeNetworkXml, servedBy } from '../../../src/templates/pxe-network.js';
import type { PxeTemplate } from '../../../src/templates/types.js';

const template: PxeTemplate = {
  type: 'pxe',
  name: 'tiny',
  ref: 'pxe:tiny',
  description: 'd',
  network: 'hv-pxe-tiny',
  bootFile: 'pxelinux.0',
  tftpRoot: "/var/lib/hvagent/templates/pxe/<tiny>&'",
  address: '10.233.71.1/24',
};

describe('PXE network definition', () => {
  test('addressing: netmask and a DHCP range that avoids the host address', () => {
    expect(pxeAddressing('10.233.71.1/24')).toEqual({ address: '10.233.71.1', netmask: '255.255.255.0', rangeStart: '10.233.71.2', rangeEnd: '10.233.71.254' });
    expect(pxeAddressing('192.168.8.254/23')).toEqual({ address: '192.168.8.254', netmask: '255.255.254.0', rangeStart: '192.168.8.255', rangeEnd: '192.168.9.254' });
    expect(pxeAddressing('10.0.0.2/30')).toEqual({ address: '10.0.0.2', netmask: '255.255.255.252', rangeStart: '10.0.0.1', rangeEnd: '10.0.0.1' });
    expect(() => pxeAddressing('10.0.0.0/24')).toThrow('network or broadcast');
    expect(() => pxeAddressing('10.0.0.1/31')).toThrow('prefix 8 to 30');
    expect(() => pxeAddressing('10.0.0.256/24')).toThrow('not an IPv4');
  });

  test('an isolated network whose dnsmasq serves the tree and names the boot file, values escaped', () => {
    const xml = pxeNetworkXml(template, { name: 't-pxe' });
    expect(xml).toContain('<name>t-pxe</name>');
    expect(xml).not.toContain('<forward');
    expect(xml).toContain('<ip address="10.233.71.1" netmask="255.255.255.0">');
    expect(xml).toContain('<tftp root="/var/lib/hvagent/templates/pxe/&lt;tiny&gt;&amp;&apos;"');
    expect(xml).toContain('<bootp file="pxelinux.0"');
    expect(servedBy(xml)).toEqual({ tftpRoot: template.tftpRoot, bootFile: 'pxelinux.0' });
    expect(() => pxeNetworkXml({ ...template, address: undefined } as PxeTemplate)).toThrow('names no address');
  });
});
