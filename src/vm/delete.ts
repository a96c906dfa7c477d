import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { locate, type Located } from '../libvirt/domains/locate.js';
import { withVmLock } from '../libvirt/domains/locked.js';
import { parseDomainXml } from '../libvirt/parse/domain.js';
import { runVirshBatch, stdoutOrThrow, virsh } from '../libvirt/virsh.js';
import { isNicFilter } from '../network/firewall/filters.js';
import { removeNicFilters, removeReservations } from '../network/nic-resources.js';
import { openPool, validateVolumeName, volumeUsers, withVolumeLock, type Pool } from '../storage/index.js';
import { removeConsoleLog } from './console-log.js';

export interface DeleteOptions {
  /** Power a running VM off first rather than refusing. */
  readonly force: boolean;
  /** Also remove the volumes provisioned for it (its metadata names them). */
  readonly removeVolumes: boolean;
}

export interface Deleted {
  /** The VM as it was found; null when there was none (no change). */
  readonly vm: Located | null;
  readonly changed: boolean;
  /** `pool/volume` of each volume removed. */
  readonly removedVolumes: string[];
}

export function deleteVm(config: HvConfig, name: string, options: DeleteOptions, ctx: OperationContext): Promise<Deleted> {
  return withVmLock(config, name, ctx, async () => {
    const vm = await locate(config, name, ctx.signal);
    if (!vm) return { vm: null, changed: false, removedVolumes: [] };
    if (vm.state !== 'shutoff' && !options.force) {
      throw new HvError('CONFLICT', `'${name}' is ${vm.state}: shut it down first, or delete with force=true`, { state: vm.state });
    }
    // A running VM's NICs as they are now too: one plugged in since its last boot may have a filter of its own.
    const [inactive, live] = await runVirshBatch([['dumpxml', '--inactive', name], ...(vm.state === 'shutoff' ? [] : [['dumpxml', name]])], { uri: vm.uri, signal: ctx.signal });
    const domain = parseDomainXml(stdoutOrThrow(inactive!));
    const ownFilters = [...domain.nics, ...(live ? parseDomainXml(stdoutOrThrow(live)).nics : [])].flatMap((nic) => (nic.filter && isNicFilter(nic.filter) ? [nic.filter] : []));
    // Everything that could refuse the removal of the volumes is checked before the VM goes.
    const volumes = options.removeVolumes ? await removableVolumes(config, name, domain.metadata.volumes, ctx.signal) : [];

    if (vm.state !== 'shutoff') await virsh(vm.uri, ['destroy', name], ctx.signal);
    // The DHCP reservations made for it go while it is still defined: a failure leaves a VM to delete again.
    await removeReservations(config, domain.metadata.leases, ctx);
    // QEMU domains may carry managed-save images and snapshot metadata; LXC knows neither flag.
    const flags = vm.driver === 'qemu' ? ['--managed-save', '--snapshots-metadata'] : [];
    await virsh(vm.uri, ['undefine', name, ...flags], ctx.signal);
    await removeNicFilters(config, ownFilters);
    removeConsoleLog(config, domain.console_log);

    const removedVolumes: string[] = [];
    for (const { pool, volume } of volumes) {
      await withVolumeLock(config, ctx.deadline, pool.name, volume, () => pool.delete(volume, { signal: ctx.signal }));
      removedVolumes.push(`${pool.name}/${volume}`);
    }
    return { vm, changed: true, removedVolumes };
  });
}

/**
 * The volumes provisioned for this VM (its metadata names them), as long as they still
 * exist and no other VM uses them: one that another VM uses refuses the whole request.
 */
async function removableVolumes(config: HvConfig, name: string, listed: string | undefined, signal: AbortSignal): Promise<Array<{ pool: Pool; volume: string }>> {
  const refs = (listed ?? '').split(',').filter(Boolean);
  if (refs.length === 0) return [];
  const users = await volumeUsers(config, signal);
  const removable: Array<{ pool: Pool; volume: string }> = [];
  for (const ref of refs) {
    const [poolName = '', volume = ''] = ref.split('/');
    validateVolumeName(volume);
    const pool = openPool(config, poolName);
    const info = await pool.info(volume, { signal });
    if (!info) continue;
    const others = (users.get(info.path) ?? []).filter((user) => user !== name);
    if (others.length > 0) {
      throw new HvError('CONFLICT', `Volume ${ref} is also used by ${others.join(', ')}: detach it there first, or delete without remove_volumes`, {
        volume: ref,
        used_by: others,
      });
    }
    removable.push({ pool, volume });
  }
  return removable;
}
