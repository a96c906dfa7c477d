import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { Protocol } from '../core/request.js';
import { mustLocate } from '../libvirt/domains/locate.js';
import { attachConsole } from '../libvirt/virsh.js';

// A person at the host attaches their terminal to a running VM's serial console (QEMU) or
// console (LXC): `virsh console` with the terminal handed down, until Ctrl-] detaches.
// Only the command line at the host has a terminal to give; every other caller is told
// where to look instead.

export interface ConsoleSession {
  durationMs: number;
}

export async function attachVmConsole(config: HvConfig, name: string, caller: { protocol: Protocol; terminal: boolean }, signal: AbortSignal): Promise<ConsoleSession> {
  if (caller.protocol !== 'cli') {
    throw new HvError('UNSUPPORTED', `vm console attaches a terminal at the host and cannot run over ${caller.protocol}: run \`hvagent vm console name=${name}\` on the host, or read the serial log with vm console_log`);
  }
  if (!caller.terminal) {
    throw new HvError('UNSUPPORTED', 'vm console needs a terminal: stdin and stdout are not a TTY here (read the serial log with vm console_log)');
  }
  const vm = await mustLocate(config, name, signal);
  if (vm.state !== 'running') throw new HvError('CONFLICT', `'${name}' is ${vm.state}: start it first`, { state: vm.state });
  const started = Date.now();
  await attachConsole(vm.uri, vm.name, signal);
  return { durationMs: Date.now() - started };
}
