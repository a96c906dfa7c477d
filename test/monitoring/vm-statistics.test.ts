// `vm statistics` for a running TCG guest (a small qcow2 disk and a NIC on the `default`
// network) and a running container, against what libvirt and the guests show. Counters
// are waited on with a bound, never after a fixed sleep.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Reply } from '../helpers/agent.js';
import {
  cleanup,
  containerRootfs,
  createGuest,
  LXC_URI,
  newVmName,
  QEMU_URI,
  qcow2Disk,
  requireGuestAssets,
  virsh,
  vm,
  waitFor,
  waitForSerial,
} from '../vm/helpers.js';

beforeAll(requireGuestAssets);
afterAll(cleanup);

interface Stats {
  name: string;
  driver: string;
  state: string;
  cpu_time_ms: number | null;
  vcpus: number | null;
  memory: Record<string, number | null>;
  disks: Array<Record<string, number | string | null>>;
  nics: Array<Record<string, number | string | null>>;
}

async function statsOf(name: string): Promise<Stats> {
  const reply = await vm('statistics', { name });
  expect(reply).toMatchObject({ statuscode: 0, data: { count: 1 } });
  return (reply.data.vms as Stats[])[0]!;
}

describe('a running TCG guest', () => {
  const name = newVmName();

  beforeAll(async () => {
    await createGuest(name, { disk: await qcow2Disk(16), network: 'default', start: true });
    // The kernel reads the partition table of vda while it boots; udhcpc talks on eth0.
    await waitForSerial(name, 'GUEST: block devices: vda');
    await waitForSerial(name, 'GUEST: READY');
  });

  test('one VM by name: state, vCPUs, memory and RSS, as libvirt reports them', async () => {
    const stats = await statsOf(name);
    expect(stats).toMatchObject({ name, driver: 'qemu', state: 'running', vcpus: 1 });
    expect(stats.memory.current_kib).toBe(192 * 1024);
    expect(stats.memory.maximum_kib).toBe(192 * 1024);
    const memstat = await virsh(QEMU_URI, ['dommemstat', name]);
    const rss = Number(/^rss (\d+)$/m.exec(memstat)![1]);
    expect(Math.abs(stats.memory.rss_kib! - rss)).toBeLessThan(64 * 1024);
  });

  test('CPU time grows between two calls', async () => {
    const first = (await statsOf(name)).cpu_time_ms!;
    expect(first).toBeGreaterThan(0);
    await waitFor(async () => (await statsOf(name)).cpu_time_ms! > first || undefined, 'the guest to use more CPU time');
  });

  test('block counters of vda: the boot read it, domblkstat agrees', async () => {
    const [disk] = (await statsOf(name)).disks;
    expect(disk).toMatchObject({ name: 'vda', path: expect.stringMatching(/t-disk-.*\.qcow2$/) });
    expect(disk!.rd_reqs).toBeGreaterThan(0);
    expect(disk!.rd_bytes).toBeGreaterThan(0);
    const blk = await virsh(QEMU_URI, ['domblkstat', name, 'vda']);
    const truth = (key: string) => Number(new RegExp(`^vda ${key} (\\d+)$`, 'm').exec(blk)![1]);
    // Nothing writes vda: the reads stay where the boot left them.
    expect(disk!.rd_reqs).toBe(truth('rd_req'));
    expect(disk!.rd_bytes).toBe(truth('rd_bytes'));
    expect(disk!.wr_bytes).toBe(truth('wr_bytes'));
  });

  test('interface counters of the NIC on default: the guest sent its DHCP requests', async () => {
    const iface = (await virsh(QEMU_URI, ['domiflist', name])).split('\n').slice(2).map((line) => line.trim().split(/\s+/)[0]).find(Boolean)!;
    const nic = await waitFor(async () => {
      const [found] = (await statsOf(name)).nics;
      return found && Number(found.tx_packets) > 0 && Number(found.rx_packets) > 0 ? found : undefined;
    }, 'packets both ways on the guest NIC');
    expect(nic.name).toBe(iface);
    const ifstat = await virsh(QEMU_URI, ['domifstat', name, iface]);
    const truth = (key: string) => Number(new RegExp(`^${iface} ${key} (\\d+)$`, 'm').exec(ifstat)![1]);
    expect(Number(nic.tx_bytes)).toBeLessThanOrEqual(truth('tx_bytes'));
    expect(Number(nic.rx_packets)).toBeLessThanOrEqual(truth('rx_packets'));
  });

  test('all VMs, filtered by state and driver; the sums cover the entries', async () => {
    const all = await vm('statistics', { driver: 'qemu', state: 'running' });
    const vms = all.data.vms as Stats[];
    expect(vms.map((entry) => entry.name)).toContain(name);
    expect(vms.every((entry) => entry.state === 'running' && entry.driver === 'qemu')).toBe(true);
    expect(all.data).toMatchObject({ count: vms.length, running: vms.length, total_vcpus: vms.reduce((sum, entry) => sum + (entry.vcpus ?? 0), 0) });
    expect((await vm('statistics', { state: 'shutoff' })).data.vms).not.toContainEqual(expect.objectContaining({ name }));
  });

  test('a shut-off guest has no CPU time; an unknown name is NOT_FOUND', async () => {
    expect(await vm('poweroff', { name })).toMatchObject({ statuscode: 0, data: { state: 'shutoff' } });
    expect(await statsOf(name)).toMatchObject({ state: 'shutoff', cpu_time_ms: null, memory: { rss_kib: null } });
    const missing: Reply = await vm('statistics', { name: `${name}-none` });
    expect(missing).toMatchObject({ statuscode: 1, data: { error_code: 'NOT_FOUND', vms: null } });
  });
});

describe('a running container', () => {
  const name = newVmName();
  let rootfs = '';

  beforeAll(async () => {
    rootfs = await containerRootfs();
    const reply = await vm('create', { name, vm_class: 'lxc', rootfs, memory_mb: 128, network: 'default', start: true });
    expect(reply).toMatchObject({ statuscode: 0, data: { state: 'running' } });
    await waitFor(() => existsSync(join(rootfs, 'run', 'ready')), 'the container init');
  });

  test('CPU time from its cgroup grows; memory from its definition and cgroup', async () => {
    const stats = await statsOf(name);
    expect(stats).toMatchObject({ name, driver: 'lxc', state: 'running', vcpus: 1, memory: { current_kib: 128 * 1024, maximum_kib: 128 * 1024, guest_available_kib: null } });
    expect(stats.memory.rss_kib).toBeGreaterThan(0);
    expect(stats.disks).toEqual([expect.objectContaining({ name: 'total', path: null, rd_reqs: expect.any(Number) })]);
    const first = stats.cpu_time_ms!;
    // Its init runs `sleep 1` every second.
    await waitFor(async () => (await statsOf(name)).cpu_time_ms! > first || undefined, 'the container to use more CPU time');
  });

  test('interface counters once its eth0 is up (IPv6 neighbour discovery sends packets)', async () => {
    const ran = await execa('virsh', ['-c', LXC_URI, 'lxc-enter-namespace', name, '--noseclabel', '/bin/ip', 'link', 'set', 'eth0', 'up'], { reject: false, timeout: 30_000 });
    expect(ran.exitCode).toBe(0);
    const nic = await waitFor(async () => {
      const [found] = (await statsOf(name)).nics;
      return found && Number(found.tx_packets) > 0 ? found : undefined;
    }, 'packets sent by the container');
    const ifstat = await virsh(LXC_URI, ['domifstat', name, String(nic.name)]);
    expect(Number(nic.tx_packets)).toBeLessThanOrEqual(Number(/ tx_packets (\d+)$/m.exec(ifstat)![1]));
  });

  test('listed with the QEMU guests, and alone under driver lxc', async () => {
    expect((await vm('statistics', { driver: 'lxc' })).data.vms).toContainEqual(expect.objectContaining({ name, driver: 'lxc' }));
    expect((await vm('statistics', { driver: 'qemu' })).data.vms).not.toContainEqual(expect.objectContaining({ name }));
    expect((await vm('statistics', {})).data.vms).toContainEqual(expect.objectContaining({ name, driver: 'lxc', nics: [expect.objectContaining({ tx_packets: expect.any(Number) })] }));
  });

  test('stopped: no CPU time, no live counters', async () => {
    expect(await vm('poweroff', { name })).toMatchObject({ statuscode: 0, data: { state: 'shutoff' } });
    expect(await statsOf(name)).toMatchObject({ state: 'shutoff', cpu_time_ms: null, vcpus: 1, disks: [], nics: [], memory: { current_kib: 128 * 1024, rss_kib: null } });
  });
});
