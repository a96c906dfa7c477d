import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { withTemporaryFile } from '../files/temporary.js';
import { runVirsh, VirshError } from '../libvirt/index.js';
import type { PxeTemplate } from './types.js';
import { lazy } from '../core/lazy.js';

// A PXE template is served by a libvirt network: libvirt's dnsmasq answers DHCP with the
// boot file (<bootp file=…/>) and serves the template's TFTP tree (<tftp root=…/>).
// The network is isolated (no <forward>): it exists to boot guests, not to route them.

export interface PxeNetworkOptions {
  /** Network name (default: the template's `network`). */
  name?: string;
  /** Host address/prefix (default: the template's `address`). */
  address?: string;
  signal?: AbortSignal;
}

const builder = lazy(() => new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true }));

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** The host address, netmask and a DHCP range for `a.b.c.d/prefix` (the range avoids the host address). */
export function pxeAddressing(cidr: string): { address: string; netmask: string; rangeStart: string; rangeEnd: string } {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  const prefix = Number(match?.[2]);
  if (!match || !(prefix >= 8 && prefix <= 30) || match[1]!.split('.').some((octet) => Number(octet) > 255)) {
    throw new HvError('INPUT_INVALID', `${JSON.stringify(cidr)} is not an IPv4 address/prefix (prefix 8 to 30)`);
  }
  const host = ipv4ToNumber(match[1]!);
  const size = 2 ** (32 - prefix);
  const network = host - (host % size);
  const broadcast = network + size - 1;
  if (host === network || host === broadcast) throw new HvError('INPUT_INVALID', `${cidr}: the host address cannot be the network or broadcast address`);
  const [start, end] = host < broadcast - 1 ? [host + 1, broadcast - 1] : [network + 1, host - 1];
  return { address: match[1]!, netmask: numberToIpv4(2 ** 32 - size), rangeStart: numberToIpv4(start), rangeEnd: numberToIpv4(end) };
}

export function pxeNetworkXml(template: PxeTemplate, options: PxeNetworkOptions = {}): string {
  const name = options.name ?? template.network;
  const cidr = options.address ?? template.address;
  if (!cidr) throw new HvError('INPUT_INVALID', `Template ${template.ref} names no address for its network ${name}; give one`);
  const ip = pxeAddressing(cidr);
  return builder().build({
    network: {
      name,
      ip: {
        '@_address': ip.address,
        '@_netmask': ip.netmask,
        tftp: { '@_root': template.tftpRoot },
        dhcp: { range: { '@_start': ip.rangeStart, '@_end': ip.rangeEnd }, bootp: { '@_file': template.bootFile } },
      },
    },
  }) as string;
}

/**
 * Defines and starts the network serving a PXE template. An existing network of that
 * name is kept (and started) when it serves the same TFTP tree and boot file; one that
 * serves something else is a CONFLICT. Returns whether anything changed.
 */
export async function definePxeNetwork(config: HvConfig, template: PxeTemplate, options: PxeNetworkOptions = {}): Promise<{ name: string; changed: boolean }> {
  const name = options.name ?? template.network;
  const uri = config.libvirt.uri;
  const signal = options.signal;
  let changed = false;
  let existing: string | undefined;
  try {
    existing = await runVirsh(['net-dumpxml', name], { uri, signal });
  } catch (error) {
    if (!(error instanceof VirshError) || !/network not found|no network with matching name/i.test(error.message)) throw error;
  }
  if (existing === undefined) {
    await withTemporaryFile('net', 'network.xml', pxeNetworkXml(template, options), (file) => runVirsh(['net-define', file], { uri, signal }));
    changed = true;
  } else {
    const served = servedBy(existing);
    if (served.tftpRoot !== template.tftpRoot || served.bootFile !== template.bootFile) {
      throw new HvError('CONFLICT', `Network ${name} exists and serves ${served.tftpRoot ?? 'no TFTP tree'} (${served.bootFile ?? 'no boot file'}), not ${template.ref}`);
    }
  }
  const info = await runVirsh(['net-info', name], { uri, signal });
  if (!/^Active:\s+yes/m.test(info)) {
    await runVirsh(['net-start', name], { uri, signal });
    changed = true;
  }
  return { name, changed };
}

/** The TFTP root and boot file a network definition serves. */
export function servedBy(xml: string): { tftpRoot?: string; bootFile?: string } {
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', isArray: (tag) => tag === 'ip' }).parse(xml) as {
    network?: { ip?: Array<{ tftp?: { '@_root'?: string }; dhcp?: { bootp?: { '@_file'?: string } } }> };
  };
  const ip = parsed.network?.ip?.find((candidate) => candidate.tftp) ?? parsed.network?.ip?.[0];
  return { ...(ip?.tftp?.['@_root'] && { tftpRoot: ip.tftp['@_root'] }), ...(ip?.dhcp?.bootp?.['@_file'] && { bootFile: ip.dhcp.bootp['@_file'] }) };
}
