import type { ActionContext, ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import { openPool, validateVolumeName, volumeUsers, withVolumeLock, type Pool } from '../../storage/index.js';
import { removeConsoleLog } from '../../vm/console-log.js';
import { parseDomainXml } from '../../libvirt/parse/domain.js';
import { locate, virsh } from '../../libvirt/domains/locate.js';
import { changeReply, underVmLock, vmName } from './common.js';

export const deleteVm: ActionHandler = (context) =>
  underVmLock(context, async () => {
    const name = vmName(context);
    const vm = await locate(context.config, name, context.signal);
    if (!vm) return { name, changed: false, state: 'absent', vm_class: null, removed_volumes: [] };
    if (vm.state !== 'shutoff' && context.inputs.force !== true) {
      throw new HvError('CONFLICT', `'${name}' is ${vm.state}: shut it down first, or delete with force=true`, { state: vm.state });
    }
    const domain = parseDomainXml(await virsh(vm.uri, ['dumpxml', '--inactive', name], context.signal));
    // Everything that could refuse the removal of the volumes is checked before the VM goes.
    const volumes = context.inputs.remove_volumes === true ? await removableVolumes(context, name, domain.metadata.volumes) : [];

    if (vm.state !== 'shutoff') await virsh(vm.uri, ['destroy', name], context.signal);
    // QEMU domains may carry managed-save images and snapshot metadata; LXC knows neither flag.
    const flags = vm.driver === 'qemu' ? ['--managed-save', '--snapshots-metadata'] : [];
    await virsh(vm.uri, ['undefine', name, ...flags], context.signal);
    removeConsoleLog(context.config, domain.console_log);

    const removed: string[] = [];
    for (const { pool, volume } of volumes) {
      await withVolumeLock(context.config, context.deadline, pool.name, volume, () => pool.delete(volume, { signal: context.signal }));
      removed.push(`${pool.name}/${volume}`);
    }
    return changeReply(vm, true, 'absent', { removed_volumes: removed });
  });

/**
 * The volumes provisioned for this VM (its metadata names them), as long as they still
 * exist and no other VM uses them: one that another VM uses refuses the whole request.
 */
async function removableVolumes(context: ActionContext, name: string, listed: string | undefined): Promise<Array<{ pool: Pool; volume: string }>> {
  const refs = (listed ?? '').split(',').filter(Boolean);
  if (refs.length === 0) return [];
  const users = await volumeUsers(context.config, context.signal);
  const removable: Array<{ pool: Pool; volume: string }> = [];
  for (const ref of refs) {
    const [poolName = '', volume = ''] = ref.split('/');
    validateVolumeName(volume);
    const pool = openPool(context.config, poolName);
    const info = await pool.info(volume, { signal: context.signal });
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
