import type { ActionHandler } from '../contract.js';
import { readHostUsage } from '../../monitoring/host-usage.js';

// Scalars are what `mco rpc` sums or averages over the fleet; the hashes and arrays are
// the detail behind them.
export const usage: ActionHandler = async ({ inputs, config, signal }) => {
  const usage = await readHostUsage(config, Number(inputs.cpu_window_ms), signal);
  const { qemu, lxc } = usage.vms;
  return {
    cpu_count: usage.cpu.count,
    cpu_percent: usage.cpu.percent,
    total_memory_mb: usage.memory.total_mb,
    free_memory_mb: usage.memory.free_mb,
    available_memory_mb: usage.memory.available_mb,
    running_vms: qemu.running + (lxc?.running ?? 0),
    total_vms: qemu.total + (lxc?.total ?? 0),
    cpu: usage.cpu,
    numa: usage.numa,
    vms: usage.vms,
    libvirt_pools: usage.libvirt_pools,
    storage_pools: usage.storage_pools,
  };
};
