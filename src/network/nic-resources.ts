import type { HvConfig } from '../config/schema.js';
import type { OperationContext } from '../core/operation.js';
import { lockKey, withLock } from '../files/locks.js';
import { runVirshBatch } from '../libvirt/index.js';
import { unreserve } from './reservations.js';

// What a VM's NICs hold outside its definition, released when the VM is deleted: the
// DHCP reservations provisioning made for them (the domain's metadata lists them,
// `network=mac,…`) and the network filters of their own (hvagent-nic-<mac>).

const ENTRY = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,62})=([0-9a-f]{2}(?::[0-9a-f]{2}){5})$/;

/** Parses the metadata's `network=mac,…` list (an entry hvagent cannot have written is not its own). */
export function reservationsOf(listed: string | undefined): Array<{ network: string; mac: string }> {
  return (listed ?? '').split(',').flatMap((entry) => {
    const match = ENTRY.exec(entry.trim());
    return match ? [{ network: match[1]!, mac: match[2]! }] : [];
  });
}

export function formatReservations(entries: ReadonlyArray<{ network: string; mac: string }>): string {
  return entries.map(({ network, mac }) => `${network}=${mac}`).join(',');
}

/** Removes the listed reservations; a network that is gone took its reservations with it. */
export async function removeReservations(config: HvConfig, listed: string | undefined, ctx: OperationContext): Promise<void> {
  for (const { network, mac } of reservationsOf(listed)) {
    await withLock(lockKey.network(network), { directory: config.paths.lock_dir, deadline: ctx.deadline }, () =>
      unreserve(config.libvirt.uri, network, mac, ctx.signal).catch((error: unknown) => {
        if ((error as { code?: string }).code !== 'NOT_FOUND') throw error;
      }),
    );
  }
}

/**
 * Removes the own filters of NICs that are gone, in one virsh process (none when there are
 * none). Best effort: a filter left behind refers to a MAC no NIC has, and a NIC that gets
 * that MAC later redefines it.
 */
export async function removeNicFilters(config: HvConfig, filters: readonly string[]): Promise<void> {
  await runVirshBatch([...new Set(filters)].map((filter) => ['nwfilter-undefine', filter]), { uri: config.libvirt.uri }).catch(() => undefined);
}
