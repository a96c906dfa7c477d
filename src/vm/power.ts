import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { currentState, type Located } from '../libvirt/domains/locate.js';
import { withLockedVm } from '../libvirt/domains/locked.js';
import type { VmState } from '../libvirt/domains/states.js';
import { virsh } from '../libvirt/virsh.js';
import { VM_CLASSES } from '../model/vm-classes.js';
import { withAdmission } from './admission.js';
import type { VmChange } from './change.js';
import { waitForState } from './wait.js';

// Every power verb is idempotent: asking for the state a VM is already in succeeds with
// changed=false. A verb that makes no sense in the current state is a CONFLICT.

export type PowerVerb = 'start' | 'poweroff' | 'suspend' | 'resume' | 'reboot';

/** The virsh command of each verb, when it is already done, and the one state it may start from. */
const VERBS: Record<Exclude<PowerVerb, 'reboot'>, { command: string; done: (state: VmState) => boolean; from?: VmState }> = {
  start: { command: 'start', done: (state) => state !== 'shutoff' },
  poweroff: { command: 'destroy', done: (state) => state === 'shutoff' },
  suspend: { command: 'suspend', done: (state) => state === 'paused', from: 'running' },
  resume: { command: 'resume', done: (state) => state === 'running', from: 'paused' },
};

const REPEAT_SHUTDOWN_MS = { acpi: 5000, signal: 2000 } as const;

function refuse(vm: Located, verb: string): never {
  throw new HvError('CONFLICT', `Cannot ${verb} '${vm.name}': it is ${vm.state}`, { state: vm.state });
}

export function changePower(config: HvConfig, name: string, verb: PowerVerb, ctx: OperationContext): Promise<VmChange> {
  return withLockedVm(config, name, ctx, async (vm) => {
    if (verb === 'reboot') {
      if (vm.state !== 'running') refuse(vm, 'reboot');
      await virsh(vm.uri, ['reboot', vm.name, ...(VM_CLASSES[vm.vmClass].shutdownMode === 'signal' ? ['--mode', 'signal'] : [])], ctx.signal);
      return { vm, changed: true, state: await currentState(vm, ctx.signal) };
    }
    const { command, done, from } = VERBS[verb];
    if (done(vm.state)) return { vm, changed: false, state: vm.state };
    if (from && vm.state !== from) refuse(vm, command);
    const run = () => virsh(vm.uri, [command, vm.name], ctx.signal);
    await (verb === 'start' ? withAdmission(config, { kind: 'start', name: vm.name }, ctx, run) : run());
    return { vm, changed: true, state: await currentState(vm, ctx.signal) };
  });
}

export interface ShutdownOptions {
  readonly timeoutMs: number;
  /** Power it off when it has not shut down within the timeout. */
  readonly force: boolean;
}

/** Asks the guest to shut down and waits for it; `forced` says it had to be powered off. */
export function shutdownVm(config: HvConfig, name: string, options: ShutdownOptions, ctx: OperationContext): Promise<VmChange & { forced: boolean }> {
  return withLockedVm(config, name, ctx, async (vm) => {
    if (vm.state === 'shutoff') return { vm, changed: false, state: vm.state, forced: false };
    // A paused guest cannot see the ACPI button.
    if (vm.state === 'paused') await virsh(vm.uri, ['resume', vm.name], ctx.signal);
    const mode = VM_CLASSES[vm.vmClass].shutdownMode;
    const until = Date.now() + options.timeoutMs;
    let state: VmState = vm.state;
    // Ask again every few seconds until the timeout: a guest still booting may not listen
    // to the power button yet, and an LXC init may not be known for a moment after start.
    while (state !== 'shutoff' && Date.now() < until) {
      await virsh(vm.uri, ['shutdown', vm.name, '--mode', mode], ctx.signal).catch((error: unknown) => {
        if (Date.now() >= until) throw error;
      });
      state = await waitForState(vm, 'shutoff', Math.min(until - Date.now(), REPEAT_SHUTDOWN_MS[mode]), ctx.signal);
    }
    if (state === 'shutoff') return { vm, changed: true, state, forced: false };
    if (!options.force) {
      throw new HvError('COMMAND_FAILED', `'${vm.name}' did not shut down within ${options.timeoutMs / 1000} s; retry with force=true to power it off`, { state });
    }
    await virsh(vm.uri, ['destroy', vm.name], ctx.signal);
    return { vm, changed: true, state: await currentState(vm, ctx.signal), forced: true };
  });
}
