import type { VmState } from '../libvirt/domains/states.js';
import type { Driver } from '../libvirt/domains/connections.js';

// One VM's counters as `vm stats` reports them. Counters are cumulative (since the VM, or
// for a NIC its host device, started): a monitoring system takes differences between polls.
// null means the driver does not report that figure for this VM now.

export interface DiskStats {
  /** Target (vda) for a QEMU disk; "total" for a container's whole block I/O. */
  readonly name: string;
  readonly path: string | null;
  readonly rd_bytes: number | null;
  readonly rd_reqs: number | null;
  readonly wr_bytes: number | null;
  readonly wr_reqs: number | null;
}

export interface NicStats {
  /** Host-side device (vnet0); counted from the guest's side: rx is what the guest received. */
  readonly name: string;
  readonly rx_bytes: number | null;
  readonly rx_packets: number | null;
  readonly rx_errs: number | null;
  readonly rx_drop: number | null;
  readonly tx_bytes: number | null;
  readonly tx_packets: number | null;
  readonly tx_errs: number | null;
  readonly tx_drop: number | null;
}

export interface MemoryStats {
  /** Memory the VM has now (balloon target; a container's assigned memory), KiB. */
  readonly current_kib: number | null;
  readonly maximum_kib: number | null;
  /** Resident memory on the host: QEMU process RSS, or the container cgroup's usage. */
  readonly rss_kib: number | null;
  /** From the guest's balloon driver, when it reports statistics. */
  readonly guest_available_kib: number | null;
  readonly guest_usable_kib: number | null;
  readonly guest_unused_kib: number | null;
}

export interface VmStats {
  name: string;
  readonly driver: Driver;
  state: VmState;
  /** CPU time used since start (ms); null unless running or paused. */
  readonly cpu_time_ms: number | null;
  readonly vcpus: number | null;
  readonly memory: MemoryStats;
  readonly disks: DiskStats[];
  readonly nics: NicStats[];
}
