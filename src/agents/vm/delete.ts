import type { ActionHandler } from '../../core/action.js';
import { HvError } from '../../core/errors.js';
import { removeConsoleLog } from '../../vm/console-log.js';
import { parseDomainXml } from '../../vm/domain-parse.js';
import { locate, virsh } from '../../vm/hypervisor.js';
import { changeReply, underVmLock, vmName } from './common.js';

export const deleteVm: ActionHandler = (context) =>
  underVmLock(context, async () => {
    const name = vmName(context);
    const vm = await locate(context.config, name, context.signal);
    if (!vm) return { name, changed: false, state: 'absent', vm_class: null };
    if (vm.state !== 'shutoff') {
      if (context.inputs.force !== true) {
        throw new HvError('CONFLICT', `'${name}' is ${vm.state}: shut it down first, or delete with force=true`, { state: vm.state });
      }
      await virsh(vm.uri, ['destroy', name], context.signal);
    }
    const { console_log: consoleLog } = parseDomainXml(await virsh(vm.uri, ['dumpxml', '--inactive', name], context.signal));
    // QEMU domains may carry managed-save images and snapshot metadata; LXC knows neither flag.
    const flags = vm.driver === 'qemu' ? ['--managed-save', '--snapshots-metadata'] : [];
    await virsh(vm.uri, ['undefine', name, ...flags], context.signal);
    removeConsoleLog(context.config, consoleLog);
    return changeReply(vm, true, 'absent');
  });
