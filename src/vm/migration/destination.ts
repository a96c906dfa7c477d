import { isIPv4, isIPv6 } from 'node:net';
import { HvError } from '../../core/errors.js';
import { printable } from '../../core/printable.js';

// Where a VM may be migrated to: another host's system libvirtd, over a transport that
// reaches it (tcp, ssh, tls). The URI goes into an argument array, never a shell, but it
// is still held to a strict shape: no query string (no keyfile=, command=, socket=), no
// shell metacharacters, and nothing that names this host.

export type Transport = 'tcp' | 'ssh' | 'tls';

export interface Destination {
  uri: string;
  transport: Transport;
  /** Host name or address, IPv6 without brackets. */
  host: string;
  port?: number;
  user?: string;
  /** Where the source QEMU sends the migration stream (`--migrateuri`). */
  dataUri: string;
}

const SHAPE = /^qemu\+(tcp|ssh|tls):\/\/(?:([a-z_][a-z0-9_-]{0,31})@)?([A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])(?::([0-9]{1,5}))?\/system$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const LOCAL_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);

function refuse(uri: string, why: string): never {
  throw new HvError('INVALID_ARGUMENT', `Destination '${printable(uri, 80)}' ${why}`, { destination: printable(uri, 80) });
}


export function parseDestination(uri: string): Destination {
  const match = SHAPE.exec(uri);
  if (!match) {
    refuse(uri, 'is not a libvirt URI of the form qemu+tcp|qemu+ssh|qemu+tls://[user@]host[:port]/system');
  }
  const [, transport, user, rawHost, rawPort] = match;
  const bracketed = rawHost!.startsWith('[');
  const host = bracketed ? rawHost!.slice(1, -1) : rawHost!.toLowerCase();
  if (bracketed) {
    if (!isIPv6(host)) refuse(uri, `names '${host}', which is not an IPv6 address`);
  } else if (/^[0-9.]+$/.test(host)) {
    if (!isIPv4(host)) refuse(uri, `names '${host}', which is not an IPv4 address`);
  } else if (host.length > 253 || !host.split('.').every((label) => LABEL.test(label))) {
    refuse(uri, `names '${host}', which is not a valid host name`);
  }
  if (namesThisHost(host)) refuse(uri, 'names this host itself (a VM is migrated to another host)');
  const port = rawPort === undefined ? undefined : Number(rawPort);
  if (port !== undefined && (port < 1 || port > 65535)) refuse(uri, `has port ${rawPort}, outside 1-65535`);
  if (user && transport !== 'ssh') refuse(uri, `names a user, which only the ssh transport takes`);
  return {
    uri,
    transport: transport as Transport,
    host,
    ...(port !== undefined && { port }),
    ...(user && { user }),
    dataUri: `tcp://${bracketed ? `[${host}]` : host}`,
  };
}

function namesThisHost(host: string): boolean {
  if (LOCAL_NAMES.has(host)) return true;
  if (isIPv4(host)) return host.startsWith('127.') || host === '0.0.0.0';
  if (isIPv6(host)) return /^(::1?|0*:0*:0*:0*:0*:0*:0*:0*1?|::ffff:127\..*)$/i.test(host);
  return false;
}
