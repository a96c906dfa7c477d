import { HvError } from '../core/errors.js';

// Network, bridge and DNS names reach virsh, `ip`, XML and dnsmasq: only a conservative
// alphabet passes, so none can be read as an option, a path or a second command.

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1). */
const INTERFACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
/** One DNS label (RFC 1123): letters, digits and inner hyphens. */
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function assertNetworkName(name: string, input = 'network'): string {
  if (!NAME.test(name)) throw new HvError('INPUT_INVALID', `Input '${input}': '${name}' is not a valid network name`, { input });
  return name;
}

export function assertBridgeName(name: string, input = 'bridge'): string {
  if (!INTERFACE.test(name) || name === '.' || name === '..') {
    throw new HvError('INPUT_INVALID', `Input '${input}': '${name}' is not a valid bridge name (at most 15 letters, digits, '.', '_' or '-')`, { input });
  }
  return name;
}

/** A host or domain name dnsmasq will serve: dot-separated RFC 1123 labels, at most 253 characters. */
export function isDnsName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}
