import type { ActionContext } from '../contract.js';
import type { ReplyData } from '../../core/reply.js';

export function vmName(context: ActionContext): string {
  return String(context.inputs.name);
}

/** The reply of every action that changes a VM: the VM, whether anything changed, its state, and what else the action says. */
export function changeReply(vm: { name: string; vmClass: string }, changed: boolean, state: string, extra: ReplyData = {}): ReplyData {
  return { name: vm.name, changed, state, vm_class: vm.vmClass, ...extra };
}
