import type { HvConfig } from '../config/schema.js';
import type { OperationContext } from '../core/operation.js';
import { lockKey, withLock } from '../files/locks.js';
import { undefineFilter } from '../network/firewall/filters.js';
import { defineNicFilter, type NicFirewall } from '../network/firewall/nic-firewall.js';
import { withRuleSetLocks } from '../network/firewall/rule-sets.js';
import { formatReservations } from '../network/nic-resources.js';
import { reserve, unreserve, type ReservationChange } from '../network/reservations.js';
import type { NicSpec } from '../vm/domain-xml.js';
import type { ProvisionRollback as Rollback } from './rollback.js';

// What a VM's NICs need outside the domain, made before it is defined, each undo
// registered before its step starts: the DHCP reservations `ipv4 dhcp:ADDRESS` asks for,
// and the filters of NICs with allow rules of their own.

export interface PlannedNic extends NicSpec {
  readonly mac: string;
  /** The address to reserve for it on its network. */
  readonly reservation?: { readonly network: string; readonly ip: string };
  /** Its firewall, when it needs a filter of its own. */
  readonly ownFilter?: NicFirewall;
}

/** Makes them; returns the reservations made, as the domain's metadata lists them (vm delete removes them). */
export async function prepareNics(config: HvConfig, ctx: OperationContext, rollback: Rollback, nics: readonly PlannedNic[]): Promise<string | undefined> {
  const uri = config.libvirt.uri;
  const made: Array<{ network: string; mac: string }> = [];
  for (const { mac, reservation } of nics) {
    if (!reservation) continue;
    const { network, ip } = reservation;
    const underLock = <T>(work: () => Promise<T>, deadline = ctx.deadline) => withLock(lockKey.network(network), { directory: config.paths.lock_dir, deadline }, work);
    let change: ReservationChange | undefined;
    // Undone without the request's signal: by then it may be aborted, and the reservation must still go.
    rollback.made(
      `DHCP reservation ${ip} on network ${network}`,
      () =>
        change?.changed
          ? underLock(async () => {
              await unreserve(uri, network, mac);
              if (change!.previous) await reserve(uri, network, { mac, ip: change!.previous.ip, ...(change!.previous.name !== null && { hostname: change!.previous.name }) });
            }, Date.now() + 60_000)
          : Promise.resolve(),
      { kind: 'lease', uri, network, mac, ip },
    );
    change = await underLock(() => reserve(uri, network, { mac, ip }, ctx.signal));
    if (change.changed) made.push({ network, mac });
    rollback.done('lease');
  }
  const filtered = nics.filter((nic) => nic.ownFilter);
  if (filtered.length > 0) {
    await withRuleSetLocks(config, filtered.flatMap((nic) => nic.ownFilter!.ruleSets), ctx.deadline, async () => {
      for (const nic of filtered) {
        rollback.made(`network filter of NIC ${nic.mac}`, () => undefineFilter(uri, nic.filter!.name), { kind: 'nwfilter', uri, name: nic.filter!.name });
        await defineNicFilter(uri, nic.mac, nic.ownFilter!, ctx.signal);
        rollback.done('nic-filter');
      }
    });
  }
  return made.length > 0 ? formatReservations(made) : undefined;
}
