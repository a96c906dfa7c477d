// Parsers of `host usage` and `vm statistics`, on output captured from virsh 9.0 and this
// machine's /proc (fixtures/; lxc-list-all-edited.txt adds rows by hand in virsh's layout).
import { readFileSync } from 'node:fs';
import { parseDomstatsRecords } from '../../../src/libvirt/parse/domstats.js';
import { parseCounterLines, parseCpuStatsTotalNs, parseListAll } from '../../../src/libvirt/parse/virsh-tables.js';
import { parseVgs } from '../../../src/monitoring/configured-pools.js';
import { cpuUsageBetween, parseProcStat } from '../../../src/monitoring/cpu.js';
import { parsePoolInfo, parsePoolNames } from '../../../src/monitoring/libvirt-pools.js';
import { parseMeminfo } from '../../../src/monitoring/memory.js';
import { vmStatsFromDomstats } from '../../../src/monitoring/qemu-stats.js';
import { countStates } from '../../../src/monitoring/vm-states.js';
import { stateOf, stateOfDomstats } from '../../../src/libvirt/domains/states.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('domstats', () => {
  const records = parseDomstatsRecords(fixture('domstats-qemu.txt'));

  test('one record per domain, every key=value line kept as text', () => {
    expect(records.map((record) => record.name)).toEqual(['t-mon-cap', 't-mon-off']);
    expect(records[0]!.stats.get('block.0.path')).toBe('/var/lib/hvagent/test-assets/t-mon-cap.qcow2');
    expect(records[0]!.stats.get('balloon.last-update')).toBe('1795246357');
    expect(records[1]!.stats.size).toBe(10);
    expect(parseDomstatsRecords('')).toEqual([]);
  });

  test('a running guest: CPU time, balloon memory and RSS, per-disk and per-NIC counters', () => {
    expect(vmStatsFromDomstats(records[0]!)).toEqual({
      name: 't-mon-cap',
      driver: 'qemu',
      state: 'running',
      cpu_time_ms: 3380,
      vcpus: 1,
      memory: { current_kib: 196608, maximum_kib: 196608, rss_kib: 249144, guest_available_kib: 158080, guest_usable_kib: 133768, guest_unused_kib: 129464 },
      disks: [{ name: 'vda', path: '/var/lib/hvagent/test-assets/t-mon-cap.qcow2', rd_bytes: 4608, rd_reqs: 2, wr_bytes: 0, wr_reqs: 0 }],
      nics: [{ name: 'vnet10', rx_bytes: 3578, rx_packets: 47, rx_errs: 0, rx_drop: 0, tx_bytes: 2106, tx_packets: 13, tx_errs: 0, tx_drop: 0 }],
    });
  });

  test("a shut-off guest has no CPU time, although libvirt 9.0 prints libvirtd's own", () => {
    expect(records[1]!.stats.get('cpu.time')).toBe('490000000');
    expect(vmStatsFromDomstats(records[1]!)).toMatchObject({ state: 'shutoff', cpu_time_ms: null, vcpus: 1, disks: [], nics: [], memory: { current_kib: 131072, rss_kib: null } });
  });

  test('a guest busy in a job (--nowait) reports what it has, the rest null', () => {
    const [busy] = parseDomstatsRecords("Domain: 'it''s'\n  state.state=3\n  net.count=1\n  net.0.name=vnet3\n");
    expect(vmStatsFromDomstats(busy!)).toMatchObject({
      name: "it''s",
      state: 'paused',
      cpu_time_ms: null,
      vcpus: null,
      memory: { current_kib: null },
      nics: [{ name: 'vnet3', rx_bytes: null, tx_packets: null }],
    });
  });
});

describe('states', () => {
  test('domstats codes and list words fold into running, paused, shutoff, other', () => {
    expect(['1', '2', '3', '4', '5', '6', '7', undefined].map(stateOfDomstats)).toEqual(['running', 'running', 'paused', 'other', 'shutoff', 'other', 'other', 'other']);
    expect(['running', 'idle', 'paused', 'shut off', 'in shutdown', 'crashed'].map(stateOf)).toEqual(['running', 'running', 'paused', 'shutoff', 'other', 'other']);
    expect(countStates(['running', 'running', 'shutoff', 'other'])).toEqual({ running: 2, paused: 0, shutoff: 1, other: 1, total: 4 });
  });

  test('virsh list --all: names with blanks, states of two words', () => {
    expect(parseListAll(fixture('lxc-list-all.txt'))).toEqual([{ name: 't-mon-ct', state: 'running' }]);
    expect(parseListAll(fixture('lxc-list-all-edited.txt'))).toEqual([
      { name: 't-mon-ct', state: 'running' },
      { name: 'web with spaces', state: 'shut off' },
      { name: 't-frozen', state: 'paused' },
    ]);
    expect(parseListAll(' Id   Name   State\n--------------------\n\n')).toEqual([]);
  });
});

describe('LXC per-domain reports', () => {
  test('cpu-stats --total to the nanosecond', () => {
    expect(parseCpuStatsTotalNs(fixture('lxc-cpu-stats.txt'))).toBe(57493595);
    expect(parseCpuStatsTotalNs('Total:\n\tcpu_time            12.5 seconds\n')).toBe(12_500_000_000);
    expect(parseCpuStatsTotalNs('')).toBeNull();
  });

  test('dommemstat, domblkstat and domifstat as counters', () => {
    expect(parseCounterLines(fixture('lxc-dommemstat.txt'))).toEqual(new Map([['actual', 131072], ['swap_in', 660], ['rss', 660]]));
    expect(parseCounterLines(fixture('lxc-domblkstat.txt'))).toEqual(new Map([['rd_req', 0], ['rd_bytes', 0], ['wr_req', 0], ['wr_bytes', 0]]));
    const ifstat = parseCounterLines(fixture('lxc-domifstat.txt'));
    expect([...ifstat.keys()]).toEqual(['rx_bytes', 'rx_packets', 'rx_errs', 'rx_drop', 'tx_bytes', 'tx_packets', 'tx_errs', 'tx_drop']);
  });
});

describe('host figures', () => {
  test('/proc/stat: the all-CPU line and one line per online CPU', () => {
    const stat = parseProcStat('cpu  184196 0 63996 896308 1440 0 731 103 0 0\ncpu0 93398 0 31566 448029 206 0 243 50 0 0\ncpu1 90797 0 32430 448279 1233 0 487 52 0 0\nintr 1 2\n');
    expect(stat).toEqual({ cpus: 2, total: { user: 184196, nice: 0, system: 63996, idle: 896308, iowait: 1440, irq: 0, softirq: 731, steal: 103 } });
    expect(parseProcStat(readFileSync('/proc/stat', 'utf8')).cpus).toBeGreaterThan(0);
  });

  test('utilisation between two samples: busy is everything but idle and iowait', () => {
    const at = (user: number, system: number, idle: number, iowait: number) =>
      parseProcStat(`cpu  ${user} 0 ${system} ${idle} ${iowait} 0 0 0 0 0\ncpu0 0\ncpu1 0\n`);
    const usage = cpuUsageBetween(at(100, 50, 1000, 10), at(160, 70, 1100, 30), 250);
    expect(usage).toMatchObject({ count: 2, percent: 40, user_percent: 30, system_percent: 10, iowait_percent: 10, steal_percent: 0, window_ms: 250 });
    expect(cpuUsageBetween(at(1, 1, 1, 1), at(1, 1, 1, 1), 50).percent).toBe(0);
  });

  test('/proc/meminfo: total, free and available in MiB', () => {
    const text = fixture('meminfo.txt');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)![1]);
    expect(parseMeminfo(text)).toEqual({
      total_mb: Math.floor(kib('MemTotal') / 1024),
      free_mb: Math.floor(kib('MemFree') / 1024),
      available_mb: Math.floor(kib('MemAvailable') / 1024),
    });
  });

  test('pool-list --name and pool-info --bytes, running and inactive', () => {
    expect(parsePoolNames('t-mon-pool          \nt-mon-pool2         \n\n')).toEqual(['t-mon-pool', 't-mon-pool2']);
    expect(parsePoolInfo('t-mon-pool', fixture('pool-info-running.txt'))).toEqual({
      name: 't-mon-pool', state: 'running', capacity_mb: 258019, allocation_mb: 22935, available_mb: 235084,
    });
    expect(parsePoolInfo('t-mon-pool2', fixture('pool-info-inactive.txt'))).toEqual({
      name: 't-mon-pool2', state: 'inactive', capacity_mb: null, allocation_mb: null, available_mb: null,
    });
  });

  test('vgs with a separator and byte units', () => {
    // As `vgs --noheadings --units b --nosuffix --separator : -o vg_name,vg_size,vg_free` prints it.
    expect(parseVgs('  vg0:1073741824:536870912\n  data:21474836480:0\n')).toEqual(new Map([
      ['vg0', { size: 1073741824, free: 536870912 }],
      ['data', { size: 21474836480, free: 0 }],
    ]));
  });
});
