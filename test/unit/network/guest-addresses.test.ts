import { channelState } from '../../../src/libvirt/parse/domain.js';
import { parseDomifaddr } from '../../../src/network/guest-addresses.js';

// `virsh domifaddr NAME --source agent` of a Debian 12 guest running qemu-guest-agent
// (captured on libvirt 9.0), with a second address and a second NIC added the way virsh prints them.
const DOMIFADDR = ` Name       MAC address          Protocol     Address
-------------------------------------------------------------------------------
 lo         00:00:00:00:00:00    ipv4         127.0.0.1/8
 -          -                    ipv6         ::1/128
 eth0       52:54:00:1A:47:2f    ipv4         192.168.122.231/24
 -          -                    ipv6         fe80::5054:ff:fe1a:472f/64
 -          -                    ipv4         10.9.8.7/16
 eth1       52:54:00:00:00:02    ipv6         fd00::2/64

`;

describe('guest addresses', () => {
  test('domifaddr: IPv4 per MAC (lower case), continuation rows belong to the NIC above, loopback and IPv6 left out', () => {
    expect(parseDomifaddr(DOMIFADDR)).toEqual(
      new Map([['52:54:00:1a:47:2f', [{ address: '192.168.122.231', prefix: 24 }, { address: '10.9.8.7', prefix: 16 }]]]),
    );
  });

  test('no agent output: nothing', () => {
    expect(parseDomifaddr('')).toEqual(new Map());
  });

  test("the guest agent channel's state in the live XML", () => {
    const live = (state: string) => `<domain type='qemu'><devices>
      <channel type='unix'><source mode='bind' path='/x/org.qemu.guest_agent.0'/><target type='virtio' name='org.qemu.guest_agent.0'${state}/></channel>
      <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0' state='connected'/></channel></devices></domain>`;
    expect(channelState(live(" state='connected'"), 'org.qemu.guest_agent.0')).toBe('connected');
    expect(channelState(live(" state='disconnected'"), 'org.qemu.guest_agent.0')).toBe('disconnected');
    expect(channelState(live(''), 'org.qemu.guest_agent.0')).toBe('disconnected');
    expect(channelState("<domain type='qemu'><devices/></domain>", 'org.qemu.guest_agent.0')).toBeNull();
  });
});
