import type { ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import { VM_CLASSES } from '../../model/vm-classes.js';
import { currentState, virsh, type Located, type VmState } from '../../libvirt/domains/locate.js';
import { waitForState } from '../../vm/wait.js';
import { changeReply, lockedVm } from './common.js';

// Every power verb is idempotent: asking for the state a VM is already in succeeds with
// changed=false. A verb that makes no sense in the current state is a CONFLICT.

const REPEAT_SHUTDOWN_MS = { acpi: 5000, signal: 2000 } as const;

function refuse(vm: Located, verb: string): never {
  throw new HvError('CONFLICT', `Cannot ${verb} '${vm.name}': it is ${vm.state}`, { state: vm.state });
}

/**
 * A verb that is one virsh command: nothing to do when `done` holds already, refused unless
 * the VM is in `from` (when given), else run and report the state it led to.
 */
function verb(command: string, done: (state: VmState) => boolean, from?: VmState): ActionHandler {
  return (context) =>
    lockedVm(context, async (vm) => {
      if (done(vm.state)) return changeReply(vm, false, vm.state);
      if (from && vm.state !== from) refuse(vm, command);
      await virsh(vm.uri, [command, vm.name], context.signal);
      return changeReply(vm, true, await currentState(vm, context.signal));
    });
}

export const start = verb('start', (state) => state !== 'shutoff');
export const poweroff = verb('destroy', (state) => state === 'shutoff');
export const suspend = verb('suspend', (state) => state === 'paused', 'running');
export const resume = verb('resume', (state) => state === 'running', 'paused');

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
    return changeReply(vm, true, await currentState(vm, context.signal), { forced: true });
  });

export const reboot: ActionHandler = (context) =>
  lockedVm(context, async (vm) => {
    if (vm.state !== 'running') refuse(vm, 'reboot');
    await virsh(vm.uri, ['reboot', vm.name, ...(VM_CLASSES[vm.vmClass].shutdownMode === 'signal' ? ['--mode', 'signal'] : [])], context.signal);
    return changeReply(vm, true, await currentState(vm, context.signal));
  });
