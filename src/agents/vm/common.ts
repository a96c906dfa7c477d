import type { ActionContext } from '../contract.js';
import type { ReplyData } from '../../core/reply.js';
import { mustLocate, type Located } from '../../libvirt/domains/locate.js';
import { withLock } from '../../files/locks.js';

export function vmName(context: ActionContext): string {
  return String(context.inputs.name);
}

/** Runs a mutating action under the VM's lock, on the VM as it is once the lock is held. */
export function underVmLock<T>(context: ActionContext, work: () => Promise<T>): Promise<T> {
  return withLock(`vm-${vmName(context)}`, { directory: context.config.paths.lock_dir, deadline: context.deadline }, work);
}

export async function lockedVm<T>(context: ActionContext, work: (vm: Located) => Promise<T>): Promise<T> {
  return underVmLock(context, async () => work(await mustLocate(context.config, vmName(context), context.signal)));
}

export function changeReply(vm: { name: string; vmClass: string }, changed: boolean, state: string, extra: ReplyData = {}): ReplyData {
  return { name: vm.name, changed, state, vm_class: vm.vmClass, ...extra };
}
