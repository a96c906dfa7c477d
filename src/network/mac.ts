import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { interfaceAttribute } from './domain-interfaces.js';

// MAC addresses of guest NICs.
//
// Generated ones are stable: 52:54:00 (the prefix QEMU and libvirt use, a locally
// administered unicast range) followed by 24 bits of SHA-256 over the host's name, the
// VM's name and the NIC's slot. The same VM and slot on the same host always get the same
// address (a recreated VM keeps its DHCP lease and any reservation); the same VM name on
// two hosts of one fleet gets different ones. When the candidate is taken, the next
// attempt number is hashed in, until a free one comes out.

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const PREFIX = '52:54:00';
const MAX_ATTEMPTS = 4096;

/** A MAC from a request in canonical form (lowercase), or INPUT_INVALID. */
export function normalizeMac(input: string): string {
  const mac = input.trim().toLowerCase();
  if (!MAC.test(mac)) throw new HvError('INPUT_INVALID', `'${input}' is not a MAC address (six hex pairs separated by ':')`, { input: 'mac' });
  if (mac === '00:00:00:00:00:00') throw new HvError('INPUT_INVALID', 'The all-zero MAC address cannot be given to a NIC', { input: 'mac' });
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new HvError('INPUT_INVALID', `${mac} is a multicast address; a NIC needs a unicast one`, { input: 'mac' });
  return mac;
}

/** The stable MAC of a VM's NIC slot that is not in `taken` (lowercase keys). */
export function stableMac(vmName: string, slot: number, taken: ReadonlySet<string> | Map<string, string>, host = hostname()): string {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const digest = createHash('sha256').update(`${host}\0${vmName}\0${slot}\0${attempt}`).digest();
    const candidate = `${PREFIX}:${[...digest.subarray(0, 3)].map((byte) => byte.toString(16).padStart(2, '0')).join(':')}`;
    if (!taken.has(candidate)) return candidate;
  }
  throw new HvError('CONFLICT', `No free MAC address found for ${vmName} slot ${slot} after ${MAX_ATTEMPTS} attempts`, { name: vmName, slot });
}

/**
 * mac (lowercase) → VM name, over every domain defined on both connections, in their
 * running and their persistent definitions.
 */
export async function macsInUse(config: HvConfig, signal?: AbortSignal): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  for (const domain of await interfaceAttribute(config, 'mac/@address', signal)) {
    for (const mac of [...domain.live, ...domain.persistent]) if (!owners.has(mac.toLowerCase())) owners.set(mac.toLowerCase(), domain.vm);
  }
  return owners;
}
