import type { ReplyData } from '../../core/reply.js';

// OpenMetrics text (Prometheus reads it too) from what `host usage` and `vm statistics`
// report: the same figures, named in the exposition format's conventions (base units:
// bytes and seconds; counters end in _total).

type Labels = Record<string, string>;

class Family {
  readonly samples: string[] = [];
  constructor(
    readonly name: string,
    readonly type: 'gauge' | 'counter',
    readonly help: string,
  ) {}

  add(value: unknown, labels: Labels = {}): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    const suffix = this.type === 'counter' ? '_total' : '';
    const rendered = Object.entries(labels).map(([key, text]) => `${key}="${escapeLabel(text)}"`).join(',');
    this.samples.push(`${this.name}${suffix}${rendered ? `{${rendered}}` : ''} ${value}`);
  }

  render(): string {
    return `# TYPE ${this.name} ${this.type}\n# HELP ${this.name} ${this.help}\n${this.samples.map((sample) => `${sample}\n`).join('')}`;
  }
}

export interface MetricsSources {
  readonly usage: ReplyData | null;
  readonly statistics: ReplyData | null;
  readonly operations: Record<string, number>;
}

export function renderMetrics({ usage, statistics, operations }: MetricsSources): string {
  const families: Family[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string) => {
    const made = new Family(`hvagent_${name}`, type, help);
    families.push(made);
    return made;
  };
  family('up', 'gauge', 'Whether host usage and vm statistics could be read (1) or not (0)').add(usage && statistics ? 1 : 0);

  if (usage) {
    const cpu = (usage.cpu ?? {}) as Record<string, unknown>;
    family('host_cpus', 'gauge', 'Online logical CPUs').add(usage.cpu_count);
    const busy = family('host_cpu_ratio', 'gauge', 'Share of all CPUs in each mode over the sampling window (0-1)');
    busy.add(ratio(usage.cpu_percent), { mode: 'busy' });
    for (const mode of ['user', 'system', 'iowait', 'steal']) busy.add(ratio(cpu[`${mode}_percent`]), { mode });
    const load = family('host_load', 'gauge', 'Load average');
    for (const minutes of ['1', '5', '15']) load.add(cpu[`load_${minutes}`], { minutes });
    const memory = family('host_memory_bytes', 'gauge', 'Host memory: total, free (MemFree) and available (MemAvailable)');
    memory.add(mib(usage.total_memory_mb), { kind: 'total' });
    memory.add(mib(usage.free_memory_mb), { kind: 'free' });
    memory.add(mib(usage.available_memory_mb), { kind: 'available' });
    const numa = family('host_numa_free_bytes', 'gauge', 'Free memory per NUMA cell');
    for (const cell of asList(usage.numa)) numa.add(mib(cell.free_mb), { cell: String(cell.id) });
    const vms = family('host_vms', 'gauge', 'VMs and containers by connection and state');
    for (const [driver, states] of Object.entries((usage.vms ?? {}) as Record<string, Record<string, unknown> | null>)) {
      if (!states) continue;
      for (const state of ['running', 'paused', 'shutoff', 'other']) vms.add(states[state], { driver, state });
    }
    const poolCapacity = family('storage_pool_capacity_bytes', 'gauge', "Capacity of hvagent's configured storage pools");
    const poolAvailable = family('storage_pool_available_bytes', 'gauge', "Space left in hvagent's configured storage pools");
    for (const pool of asList(usage.storage_pools)) {
      const labels = { pool: String(pool.name), plugin: String(pool.plugin) };
      poolCapacity.add(mib(pool.capacity_mb), labels);
      poolAvailable.add(mib(pool.available_mb), labels);
    }
  }

  if (statistics) {
    const state = family('vm_running', 'gauge', 'Whether the VM runs (1) or not (0)');
    const cpuTime = family('vm_cpu_seconds', 'counter', 'CPU time the VM has used since it started');
    const vcpus = family('vm_vcpus', 'gauge', 'Virtual CPUs');
    const memory = family('vm_memory_bytes', 'gauge', 'VM memory: current (balloon), maximum, rss (on the host)');
    const diskBytes = family('vm_disk_bytes', 'counter', 'Bytes read and written per disk');
    const diskRequests = family('vm_disk_requests', 'counter', 'Read and write requests per disk');
    const nicBytes = family('vm_nic_bytes', 'counter', 'Bytes received and sent per NIC, from the guest side');
    const nicPackets = family('vm_nic_packets', 'counter', 'Packets received and sent per NIC, from the guest side');
    for (const vm of asList(statistics.vms)) {
      const labels = { vm: String(vm.name), driver: String(vm.driver) };
      state.add(vm.state === 'running' ? 1 : 0, labels);
      cpuTime.add(typeof vm.cpu_time_ms === 'number' ? vm.cpu_time_ms / 1000 : null, labels);
      vcpus.add(vm.vcpus, labels);
      const kib = (vm.memory ?? {}) as Record<string, unknown>;
      memory.add(kibibytes(kib.current_kib), { ...labels, kind: 'current' });
      memory.add(kibibytes(kib.maximum_kib), { ...labels, kind: 'maximum' });
      memory.add(kibibytes(kib.rss_kib), { ...labels, kind: 'rss' });
      for (const disk of asList(vm.disks)) {
        const device = { ...labels, device: String(disk.name) };
        diskBytes.add(disk.rd_bytes, { ...device, direction: 'read' });
        diskBytes.add(disk.wr_bytes, { ...device, direction: 'write' });
        diskRequests.add(disk.rd_reqs, { ...device, direction: 'read' });
        diskRequests.add(disk.wr_reqs, { ...device, direction: 'write' });
      }
      for (const nic of asList(vm.nics)) {
        const device = { ...labels, device: String(nic.name) };
        nicBytes.add(nic.rx_bytes, { ...device, direction: 'rx' });
        nicBytes.add(nic.tx_bytes, { ...device, direction: 'tx' });
        nicPackets.add(nic.rx_packets, { ...device, direction: 'rx' });
        nicPackets.add(nic.tx_packets, { ...device, direction: 'tx' });
      }
    }
  }

  const byState = family('operations', 'gauge', 'Operations this server knows, by state');
  for (const [name, count] of Object.entries(operations)) byState.add(count, { state: name });
  return `${families.map((made) => made.render()).join('')}# EOF\n`;
}

function asList(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? (value.filter((item) => typeof item === 'object' && item !== null) as Record<string, unknown>[]) : [];
}

function mib(value: unknown): number | null {
  return typeof value === 'number' ? value * 1024 * 1024 : null;
}

function kibibytes(value: unknown): number | null {
  return typeof value === 'number' ? value * 1024 : null;
}

function ratio(percent: unknown): number | null {
  return typeof percent === 'number' ? Math.round(percent * 10) / 1000 : null;
}

function escapeLabel(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
