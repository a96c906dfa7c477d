import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { Intent, type UndoRecord } from '../files/intents.js';
import { lockKey } from '../files/locks.js';
import { locate, type Located } from '../libvirt/domains/locate.js';
import { withVmLock } from '../libvirt/domains/locked.js';
import { parseDomainXml } from '../libvirt/parse/domain.js';
import { runVirshBatch, stdoutOrThrow, virsh } from '../libvirt/virsh.js';
import { isNicFilter } from '../network/firewall/filters.js';
import { removeNicFilters, removeReservations } from '../network/nic-resources.js';
import { canonicalPath, openPool, peerUsage, volumeRecord, volumeUsers, withVolumeLock, type PeerUser, type Pool } from '../storage/index.js';
import { ownConsoleLog, removeConsoleLog } from './console-log.js';

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
  /** `pool/volume: why` of each volume its metadata names that was left (remove_volumes). */
  readonly keptVolumes: string[];
}

export function deleteVm(config: HvConfig, name: string, options: DeleteOptions, ctx: OperationContext): Promise<Deleted> {
  return withVmLock(config, name, ctx, async () => {
    const vm = await locate(config, name, ctx.signal);
    if (!vm) return { vm: null, changed: false, removedVolumes: [], keptVolumes: [] };
    if (vm.state !== 'shutoff' && !options.force) {
      throw new HvError('CONFLICT', `'${name}' is ${vm.state}: shut it down first, or delete with force=true`, { state: vm.state });
    }
    // A running VM's NICs as they are now too: one plugged in since its last boot may have a filter of its own.
    const [inactive, live] = await runVirshBatch([['dumpxml', '--inactive', name], ...(vm.state === 'shutoff' ? [] : [['dumpxml', name]])], { uri: vm.uri, signal: ctx.signal });
    const domain = parseDomainXml(stdoutOrThrow(inactive!));
    const ownFilters = [...domain.nics, ...(live ? parseDomainXml(stdoutOrThrow(live)).nics : [])].flatMap((nic) => (nic.filter && isNicFilter(nic.filter) ? [nic.filter] : []));
    // Everything that could refuse the removal of the volumes is checked before the VM goes.
    const { removable: volumes, kept } = options.removeVolumes ? await chooseVolumes(config, name, domain, ctx.signal) : { removable: [], kept: [] };

    // What goes once the domain is undefined (its filters, log and volumes) is journalled
    // before anything changes: killed after the undefine, the next request finishes the
    // deletion; killed before, the VM is still there and the records are dropped unused.
    const afterUndefine: UndoRecord[] = [
      ...[...new Set(ownFilters)].map((filter) => ({ kind: 'nwfilter', uri: config.libvirt.uri, name: filter })),
      ...[ownConsoleLog(config, domain.console_log)].flatMap((path) => (path ? [{ kind: 'file', path }] : [])),
      ...volumes.map(({ pool, volume }) => volumeRecord(pool, volume)),
    ].map((record) => ({ ...record, once_undefined: name, domain_uri: vm.uri }));
    const keys = [lockKey.vm(name), ...volumes.map(({ pool, volume }) => lockKey.volume(pool.name, volume))];
    const intent = Intent.begin(config.paths.lock_dir, keys, `vm delete ${name}`);
    intent.recordAll(afterUndefine);
    const removedVolumes: string[] = [];
    let undefined_ = false;
    try {
      if (vm.state !== 'shutoff') await virsh(vm.uri, ['destroy', name], ctx.signal);
      // The DHCP reservations made for it go while it is still defined: a failure leaves a VM to delete again.
      await removeReservations(config, domain.metadata.leases, ctx);
      // QEMU domains may carry managed-save images and snapshot metadata; LXC knows neither flag.
      const flags = vm.driver === 'qemu' ? ['--managed-save', '--snapshots-metadata'] : [];
      await virsh(vm.uri, ['undefine', name, ...flags], ctx.signal);
      undefined_ = true;
      await removeNicFilters(config, ownFilters);
      removeConsoleLog(config, domain.console_log);

      for (const { pool, volume } of volumes) {
        await withVolumeLock(config, ctx.deadline, pool.name, volume, () => pool.delete(volume, { signal: ctx.signal }));
        removedVolumes.push(`${pool.name}/${volume}`);
      }
      intent.end();
    } catch (error) {
      // Undefined but not all removed: anyone may finish it, now. Not undefined: nothing to finish.
      if (undefined_) intent.abandon(afterUndefine);
      else intent.end();
      throw error;
    }
    return { vm, changed: true, removedVolumes, keptVolumes: kept };
  });
}

interface VolumeChoice {
  removable: Array<{ pool: Pool; volume: string }>;
  /** `pool/name: why` of each volume the metadata names that is not removed. */
  kept: string[];
}

/**
 * The volumes provisioned for this VM that really are its own: the metadata names them
 * (pool/name), and only a volume that is, in its pool as configured now, one of the
 * domain's own disks (or its root directory) is removed. The metadata is trusted for
 * nothing else: a name that is not a disk of this VM, a pool no longer configured, or a
 * pool whose path changed since (the volume named is then elsewhere than the disk) is
 * kept and reported. A volume another VM uses refuses the whole request; in a shared pool
 * that includes the VMs of storage.shared_hosts (a host that cannot be asked refuses it too).
 */
async function chooseVolumes(config: HvConfig, name: string, domain: ReturnType<typeof parseDomainXml>, signal: AbortSignal): Promise<VolumeChoice> {
  const refs = (domain.metadata.volumes ?? '').split(',').filter(Boolean);
  const choice: VolumeChoice = { removable: [], kept: [] };
  if (refs.length === 0) return choice;
  const own = new Set(
    [...domain.disks.map((disk) => disk.source), ...domain.filesystems.map((fs) => fs.source)].filter((path): path is string => path !== null).map(canonicalPath),
  );
  const sharedPools = refs.some((ref) => config.storage.pools[ref.split('/')[0] ?? '']?.shared === true);
  const [users, remote] = await Promise.all([volumeUsers(config, signal), sharedPools ? peerUsage(config, signal) : new Map<string, PeerUser[]>()]);
  for (const ref of refs) {
    const [poolName = '', volume = ''] = ref.split('/');
    const keep = (why: string) => choice.kept.push(`${ref}: ${why}`);
    if (!Object.hasOwn(config.storage.pools, poolName)) {
      keep(`pool '${poolName}' is no longer configured; remove the volume by hand if it is not needed`);
      continue;
    }
    const pool = openPool(config, poolName);
    try {
      pool.pathOf(volume);
    } catch {
      keep('not a volume name');
      continue;
    }
    const info = await pool.info(volume, { signal });
    const path = info ? canonicalPath(info.path) : canonicalPath(pool.pathOf(volume));
    if (!own.has(path)) {
      const disks = [...own].join(', ') || 'none';
      keep(
        info
          ? `${info.path} is not a disk of this VM (its disks: ${disks}); the pool's configuration may have changed since it was provisioned`
          : `pool '${poolName}' has no volume '${volume}' (at ${pool.pathOf(volume)}); this VM's disks (${disks}) were left where they are`,
      );
      continue;
    }
    if (!info) continue;
    const others = [...(users.get(path) ?? []).filter((user) => user !== name), ...(pool.config.shared ? (remote.get(path) ?? []).map((user) => user.vm) : [])];
    if (others.length > 0) {
      throw new HvError('CONFLICT', `Volume ${ref} is also used by ${others.join(', ')}: detach it there first, or delete without remove_volumes`, {
        volume: ref,
        used_by: others,
      });
    }
    choice.removable.push({ pool, volume });
  }
  return choice;
}
