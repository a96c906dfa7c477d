import type { ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import { readLxcStats } from '../../monitoring/lxc-stats.js';
import { readQemuStats } from '../../monitoring/qemu-stats.js';
import type { VmStats } from '../../monitoring/vm-stats-types.js';
import { uriFor } from '../../libvirt/domains/locate.js';

// Both connections are asked in parallel: one `domstats` on QEMU; on LXC one batch for a
// named container, else `list --all` and one batch (plus one for NIC counters).
// Named statistics: `stats` is a method of MCollective's RPC::Client, which `mco rpc vm stats` would call instead.
export const statistics: ActionHandler = async ({ inputs, config, signal }) => {
  const name = inputs.name === undefined ? undefined : String(inputs.name);
  const wantDriver = String(inputs.driver);
  const wantState = String(inputs.state);
  const [qemu, lxc] = await Promise.all([
    wantDriver === 'lxc' ? [] : readQemuStats(uriFor(config, 'qemu'), name, signal),
    wantDriver === 'qemu' ? [] : readLxcStats(uriFor(config, 'lxc'), name, signal),
  ]);
  const found: VmStats[] = [...(qemu ?? []), ...(lxc ?? [])];
  if (name !== undefined && found.length === 0) {
    throw new HvError('NOT_FOUND', `No VM named '${name}' on this host${wantDriver === 'any' ? '' : ` (driver ${wantDriver})`}`, { name });
  }
  const vms = found.filter((vm) => wantState === 'any' || vm.state === wantState).sort((a, b) => a.name.localeCompare(b.name));
  return {
    vms,
    count: vms.length,
    running: vms.filter((vm) => vm.state === 'running').length,
    total_vcpus: vms.reduce((sum, vm) => sum + (vm.vcpus ?? 0), 0),
    total_memory_mb: Math.floor(vms.reduce((sum, vm) => sum + (vm.memory.current_kib ?? 0), 0) / 1024),
  };
};
