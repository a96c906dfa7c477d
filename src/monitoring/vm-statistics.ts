import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { uriFor, type Driver } from '../libvirt/domains/connections.js';
import type { VmState } from '../libvirt/domains/states.js';
import { readLxcStats } from './lxc-stats.js';
import { readQemuStats } from './qemu-stats.js';
import type { VmStats } from './vm-stats-types.js';
import { compareText } from '../core/text-order.js';

// Both connections are asked in parallel: one `domstats` on QEMU; on LXC one batch for a
// named container, else `list --all` and one batch (plus one for NIC counters).

export interface StatisticsFilter {
  /** One VM (NOT_FOUND when it is on neither connection), or all. */
  readonly name?: string;
  readonly driver: 'any' | Driver;
  readonly state: 'any' | VmState;
}

export interface VmStatistics {
  vms: VmStats[];
  count: number;
  running: number;
  total_vcpus: number;
  total_memory_mb: number;
}

export async function readVmStatistics(config: HvConfig, filter: StatisticsFilter, signal: AbortSignal): Promise<VmStatistics> {
  const { name } = filter;
  const [qemu, lxc] = await Promise.all([
    filter.driver === 'lxc' ? [] : readQemuStats(uriFor(config, 'qemu'), name, signal),
    filter.driver === 'qemu' ? [] : readLxcStats(uriFor(config, 'lxc'), name, signal),
  ]);
  const found: VmStats[] = [...(qemu ?? []), ...(lxc ?? [])];
  if (name !== undefined && found.length === 0) {
    throw new HvError('NOT_FOUND', `No VM named '${name}' on this host${filter.driver === 'any' ? '' : ` (driver ${filter.driver})`}`, { name });
  }
  const vms = found.filter((vm) => filter.state === 'any' || vm.state === filter.state).sort((a, b) => compareText(a.name, b.name));
  return {
    vms,
    count: vms.length,
    running: vms.filter((vm) => vm.state === 'running').length,
    total_vcpus: vms.reduce((sum, vm) => sum + (vm.vcpus ?? 0), 0),
    total_memory_mb: Math.floor(vms.reduce((sum, vm) => sum + (vm.memory.current_kib ?? 0), 0) / 1024),
  };
}
