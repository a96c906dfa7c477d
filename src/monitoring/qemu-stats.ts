import { runVirsh } from '../libvirt/index.js';
import { parseDomstatsRecords, type DomainStatsRecord } from '../libvirt/parse/domstats.js';
import { reconcileEmbedded } from '../libvirt/domains/locate.js';
import { isMissingDomain, stateOfDomstats } from '../libvirt/domains/states.js';
import type { DiskStats, NicStats, VmStats } from './vm-stats-types.js';


// QEMU guests: ONE `virsh domstats` for one VM or all of them. --nowait: a guest busy in
// a job (migration, snapshot) gives what is available at once instead of holding up the
// whole poll; its missing figures are null.

export const DOMSTATS_COMMAND = ['domstats', '--raw', '--nowait', '--state', '--cpu-total', '--balloon', '--vcpu', '--interface', '--block'] as const;

export function vmStatsFromDomstats(record: DomainStatsRecord): VmStats {
  const stats = record.stats;
  const int = (key: string): number | null => {
    const value = stats.get(key);
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : null;
  };
  const state = stateOfDomstats(stats.get('state.state'));
  const cpuNs = int('cpu.time');
  const disks: DiskStats[] = indexes(int('block.count')).map((i) => ({
    name: stats.get(`block.${i}.name`) ?? String(i),
    path: stats.get(`block.${i}.path`) ?? null,
    rd_bytes: int(`block.${i}.rd.bytes`),
    rd_reqs: int(`block.${i}.rd.reqs`),
    wr_bytes: int(`block.${i}.wr.bytes`),
    wr_reqs: int(`block.${i}.wr.reqs`),
  }));
  const nics: NicStats[] = indexes(int('net.count')).map((i) => ({
    name: stats.get(`net.${i}.name`) ?? String(i),
    rx_bytes: int(`net.${i}.rx.bytes`),
    rx_packets: int(`net.${i}.rx.pkts`),
    rx_errs: int(`net.${i}.rx.errs`),
    rx_drop: int(`net.${i}.rx.drop`),
    tx_bytes: int(`net.${i}.tx.bytes`),
    tx_packets: int(`net.${i}.tx.pkts`),
    tx_errs: int(`net.${i}.tx.errs`),
    tx_drop: int(`net.${i}.tx.drop`),
  }));
  return {
    name: record.name,
    driver: 'qemu',
    state,
    // libvirt 9.0 fills cpu.time of an inactive domain from libvirtd's own process
    // (it reads /proc for pid 0): only a running or paused guest's figure is its own.
    cpu_time_ms: (state === 'running' || state === 'paused') && cpuNs !== null ? Math.floor(cpuNs / 1e6) : null,
    vcpus: int('vcpu.current'),
    memory: {
      current_kib: int('balloon.current') ?? int('balloon.maximum'),
      maximum_kib: int('balloon.maximum'),
      rss_kib: int('balloon.rss'),
      guest_available_kib: int('balloon.available'),
      guest_usable_kib: int('balloon.usable'),
      guest_unused_kib: int('balloon.unused'),
    },
    disks,
    nics,
  };
}

/** All QEMU guests, or the one named (undefined when it is not on this connection). */
export async function readQemuStats(uri: string, name: string | undefined, signal?: AbortSignal): Promise<VmStats[] | undefined> {
  let text: string;
  try {
    text = await runVirsh([...DOMSTATS_COMMAND, ...(name === undefined ? [] : [name])], { uri, ...(signal && { signal }) });
  } catch (error) {
    if (name !== undefined && isMissingDomain(error)) return undefined;
    throw error;
  }
  return reconcileEmbedded(uri, parseDomstatsRecords(text).map(vmStatsFromDomstats), signal);
}

function indexes(count: number | null): number[] {
  return Array.from({ length: count ?? 0 }, (_, i) => i);
}
