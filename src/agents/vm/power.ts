import type { ActionContext, ActionHandler } from '../../core/action.js';
import { HvError } from '../../core/errors.js';
import { VM_CLASSES } from '../../vm/classes.js';
import { currentState, virsh, type Located, type VmState } from '../../vm/hypervisor.js';
import { waitForState } from '../../vm/wait.js';
import { changeReply, lockedVm } from './common.js';

// Every power verb is idempotent: asking for the state a VM is already in succeeds with
// changed=false. A verb that makes no sense in the current state is a CONFLICT.

function stateNow(vm: Located, context: ActionContext): Promise<VmState> {
  return currentState(vm, context.signal);
}

const REPEAT_SHUTDOWN_MS = { acpi: 5000, signal: 2000 } as const;

function refuse(vm: Located, verb: string): never {
  throw new HvError('CONFLICT', `Cannot ${verb} '${vm.name}': it is ${vm.state}`, { state: vm.state });
}

export const start: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    if (vm.state !== 'shutoff') return changeReply(vm, false, vm.state);
    await virsh(vm.uri, ['start', vm.name], context.signal);
    return changeReply(vm, true, await stateNow(vm, context));
  });

export const poweroff: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    if (vm.state === 'shutoff') return changeReply(vm, false, vm.state);
    await virsh(vm.uri, ['destroy', vm.name], context.signal);
    return changeReply(vm, true, await stateNow(vm, context));
  });

export const shutdown: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    if (vm.state === 'shutoff') return changeReply(vm, false, vm.state, { forced: false });
    const timeoutMs = Number(context.inputs.timeout) * 1000;
    const force = context.inputs.force === true;
    // A paused guest cannot see the ACPI button.
    if (vm.state === 'paused') await virsh(vm.uri, ['resume', vm.name], context.signal);
    const mode = VM_CLASSES[vm.vmClass].shutdownMode;
    const until = Date.now() + timeoutMs;
    let state: VmState = vm.state;
    // Ask again every few seconds until the timeout: a guest still booting may not listen
    // to the power button yet, and an LXC init may not be known for a moment after start.
    while (state !== 'shutoff' && Date.now() < until) {
      await virsh(vm.uri, ['shutdown', vm.name, '--mode', mode], context.signal).catch((error: unknown) => {
        if (Date.now() >= until) throw error;
      });
      state = await waitForState(vm, 'shutoff', Math.min(until - Date.now(), REPEAT_SHUTDOWN_MS[mode]), context.signal);
    }
    if (state === 'shutoff') return changeReply(vm, true, state, { forced: false });
    if (!force) {
      throw new HvError('COMMAND_FAILED', `'${vm.name}' did not shut down within ${timeoutMs / 1000} s; retry with force=true to power it off`, {
        state,
      });
    }
    await virsh(vm.uri, ['destroy', vm.name], context.signal);
    return changeReply(vm, true, await stateNow(vm, context), { forced: true });
  });

export const reboot: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    if (vm.state !== 'running') refuse(vm, 'reboot');
    await virsh(vm.uri, ['reboot', vm.name, ...(VM_CLASSES[vm.vmClass].shutdownMode === 'signal' ? ['--mode', 'signal'] : [])], context.signal);
    return changeReply(vm, true, await stateNow(vm, context));
  });

export const suspend: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    if (vm.state === 'paused') return changeReply(vm, false, vm.state);
    if (vm.state !== 'running') refuse(vm, 'suspend');
    await virsh(vm.uri, ['suspend', vm.name], context.signal);
    return changeReply(vm, true, await stateNow(vm, context));
  });

export const resume: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    if (vm.state === 'running') return changeReply(vm, false, vm.state);
    if (vm.state !== 'paused') refuse(vm, 'resume');
    await virsh(vm.uri, ['resume', vm.name], context.signal);
    return changeReply(vm, true, await stateNow(vm, context));
  });
