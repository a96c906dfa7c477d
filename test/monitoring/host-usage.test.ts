// `host usage` against the truth read without hvagent: virsh nodeinfo, freecell and
// pool-info, /proc/meminfo, statfs, and the VM lists of both connections. Other tests
// start and stop VMs on this libvirtd at the same time, so VM counts are compared with a
// reading of the truth taken just before and just after that did not change.
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stdioRpc, type Reply } from '../helpers/agent.js';
import { cleanup, createGuest, LXC_URI, newVmName, QEMU_URI, requireGuestAssets, virsh, vm, waitFor } from '../vm/helpers.js';

beforeAll(requireGuestAssets);
afterAll(cleanup);

const usage = (env: Record<string, string> = {}, data: Record<string, unknown> = {}): Promise<Reply> =>
  stdioRpc({ agent: 'host', action: 'usage', data }, env);

async function statesOf(uri: string): Promise<string[]> {
  const table = await virsh(uri, ['list', '--all']);
  return table.split('\n').slice(2).map((line) => line.trim()).filter(Boolean).map((line) => (/(shut off|running|paused|idle|in shutdown|crashed|pmsuspended)$/.exec(line)?.[1] ?? 'other'));
}

async function truthCounts() {
  const [qemu, lxc] = await Promise.all([statesOf(QEMU_URI), statesOf(LXC_URI)]);
  const running = (states: string[]) => states.filter((state) => state === 'running' || state === 'idle').length;
  return { running: running(qemu) + running(lxc), total: qemu.length + lxc.length, qemuTotal: qemu.length, lxcTotal: lxc.length };
}

/** A usage reply whose VM counts match the truth read right before and right after it. */
async function usageMatchingTruth(): Promise<{ reply: Reply; truth: Awaited<ReturnType<typeof truthCounts>> }> {
  return waitFor(async () => {
    const before = await truthCounts();
    const reply = await usage();
    const after = await truthCounts();
    if (JSON.stringify(before) !== JSON.stringify(after)) return undefined;
    const vms = reply.data.vms as { qemu: { total: number }; lxc: { total: number } };
    const same = reply.data.running_vms === before.running && reply.data.total_vms === before.total && vms.qemu.total === before.qemuTotal && vms.lxc.total === before.lxcTotal;
    return same ? { reply, truth: before } : undefined;
  }, 'a host usage reading with VM counts matching a quiet moment of virsh list --all');
}

describe('host usage', () => {
  test('CPU count, memory and NUMA free memory match nodeinfo, /proc/meminfo and freecell', async () => {
    const reply = await usage();
    expect(reply.statuscode).toBe(0);
    const data = reply.data;
    const nodeCpus = Number(/^CPU\(s\):\s+(\d+)$/m.exec(await virsh(QEMU_URI, ['nodeinfo']))![1]);
    expect(data.cpu_count).toBe(nodeCpus);
    expect(data.cpu).toMatchObject({ count: nodeCpus, window_ms: expect.any(Number) });
    const cpu = data.cpu as Record<string, number>;
    expect(cpu.window_ms).toBeGreaterThanOrEqual(250);
    for (const key of ['percent', 'user_percent', 'system_percent', 'iowait_percent', 'steal_percent']) {
      expect(cpu[key]).toBeGreaterThanOrEqual(0);
      expect(cpu[key]).toBeLessThanOrEqual(100);
    }
    expect(data.cpu_percent).toBe(cpu.percent);

    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    const mib = (key: string) => Math.floor(Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(meminfo)![1]) / 1024);
    expect(data.total_memory_mb).toBe(mib('MemTotal'));
    // Free and available move while guests start and stop around us.
    expect(Math.abs(Number(data.available_memory_mb) - mib('MemAvailable'))).toBeLessThan(1024);
    expect(Number(data.free_memory_mb)).toBeLessThanOrEqual(Number(data.available_memory_mb));

    const cells = [...(await virsh(QEMU_URI, ['freecell', '--all'])).matchAll(/^\s*(\d+):\s+(\d+) KiB$/gm)].map((m) => ({ id: Number(m[1]), mib: Math.floor(Number(m[2]) / 1024) }));
    const numa = data.numa as Array<{ id: number; free_mb: number }>;
    expect(numa.map((cell) => cell.id)).toEqual(cells.map((cell) => cell.id));
    numa.forEach((cell, i) => expect(Math.abs(cell.free_mb - cells[i]!.mib)).toBeLessThan(1024));
  });

  test('the CPU window is an input, bounded', async () => {
    const reply = await usage({}, { cpu_window_ms: 1000 });
    expect((reply.data.cpu as { window_ms: number }).window_ms).toBeGreaterThanOrEqual(1000);
    expect(await usage({}, { cpu_window_ms: 10 })).toMatchObject({ statuscode: 4, data: { error_code: 'INPUT_INVALID' } });
  });

  test('VM counts follow a guest of this test as it starts and stops', async () => {
    const name = newVmName();
    await createGuest(name);
    const stopped = await usageMatchingTruth();
    expect(await virsh(QEMU_URI, ['domstate', name])).toContain('shut off');

    expect(await vm('start', { name })).toMatchObject({ statuscode: 0, data: { state: 'running' } });
    const started = await usageMatchingTruth();
    expect((await virsh(QEMU_URI, ['domstate', name])).trim()).toBe('running');
    expect(started.reply.data.running_vms).toBe(started.truth.running);

    expect(await vm('delete', { name, force: true })).toMatchObject({ statuscode: 0, data: { changed: true } });
    const gone = await usageMatchingTruth();
    expect(gone.reply.data.total_vms).toBe(gone.truth.total);
    expect(stopped.reply.data.total_vms).toBe(stopped.truth.total);
  });

  describe('storage pools', () => {
    const pool = `t-pool-${process.pid}`;
    const dir = mkdtempSync(join(tmpdir(), 't-pool-'));
    const configDir = mkdtempSync(join(tmpdir(), 't-config-'));
    const config = join(configDir, 'hvagent.yaml');

    beforeAll(async () => {
      await virsh(QEMU_URI, ['pool-define-as', pool, 'dir', '--target', dir]);
      await virsh(QEMU_URI, ['pool-start', pool]);
      writeFileSync(config, [
        'storage:',
        '  pools:',
        `    here: { plugin: qcow2, path: ${dir}, max_total_mb: 4096 }`,
        `    gone: { plugin: dir, path: ${join(dir, 'no-such-dir')} }`,
        '    vg: { plugin: lvm, volume_group: t-vg-none }',
        '',
      ].join('\n'));
    });

    afterAll(async () => {
      await virsh(QEMU_URI, ['pool-destroy', pool]).catch(() => undefined);
      await virsh(QEMU_URI, ['pool-undefine', pool]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      rmSync(configDir, { recursive: true, force: true });
    });

    test("a libvirt pool is reported with pool-info's sizes", async () => {
      const reply = await usage();
      const info = await virsh(QEMU_URI, ['pool-info', '--bytes', pool]);
      const mb = (key: string) => Math.floor(Number(new RegExp(`^${key}:\\s+(\\d+)$`, 'm').exec(info)![1]) / 1048576);
      expect(reply.data.libvirt_pools).toContainEqual({ name: pool, state: 'running', capacity_mb: mb('Capacity'), allocation_mb: mb('Allocation'), available_mb: mb('Available') });
      await virsh(QEMU_URI, ['pool-destroy', pool]);
      expect((await usage()).data.libvirt_pools).toContainEqual({ name: pool, state: 'inactive', capacity_mb: null, allocation_mb: null, available_mb: null });
    });

    test('configured pools: measured by statfs; a missing path and a missing lvm tool are statuses, not errors', async () => {
      const reply = await usage({ HVAGENT_CONFIG: config });
      expect(reply.statuscode).toBe(0);
      const fs = statfsSync(dir);
      const lvmInstalled = (await import('execa')).execa('vgs', ['--version'], { reject: false }).then((ran) => ran.exitCode === 0);
      expect(reply.data.storage_pools).toEqual([
        { name: 'gone', plugin: 'dir', location: join(dir, 'no-such-dir'), status: 'missing', capacity_mb: null, available_mb: null, max_total_mb: null, message: `${join(dir, 'no-such-dir')} does not exist` },
        { name: 'here', plugin: 'qcow2', location: dir, status: 'ok', capacity_mb: Math.floor((fs.blocks * fs.bsize) / 1048576), available_mb: expect.any(Number), max_total_mb: 4096 },
        expect.objectContaining({ name: 'vg', plugin: 'lvm', location: 't-vg-none', status: (await lvmInstalled) ? 'missing' : 'vgs_missing', capacity_mb: null }),
      ]);
      const here = (reply.data.storage_pools as Array<{ available_mb: number }>)[1]!;
      expect(Math.abs(here.available_mb - Math.floor((fs.bavail * fs.bsize) / 1048576))).toBeLessThan(1024);
    });
  });
});
