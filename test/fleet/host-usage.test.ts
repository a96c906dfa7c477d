// `mco rpc host usage` through a real MCollective 2.12 fleet: the DDL's aggregates make
// the client print fleet totals. hv1 and hv2 are the same host, so every total is twice
// what each identity reports, and the CPU average lies between the two readings.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startHvagentFleet, type Fleet, type RpcReply } from './fleet.js';

let fleet: Fleet;

beforeAll(async () => {
  fleet = await startHvagentFleet();
});

afterAll(async () => {
  await fleet?.stop();
});

const plain = (stdout: string) => stdout.replace(/\x1b\[[0-9;]*m/g, '');
const escape = (label: string) => label.replace(/[()%]/g, '\\$&');

/** The lines under "Summary of <label>:" in mco's text output. */
function summaryOf(text: string, label: string): string {
  const match = new RegExp(`^Summary of ${escape(label)}:\\n\\n((?: {3}.*\\n)+)`, 'm').exec(text);
  if (!match) throw new Error(`no "Summary of ${label}:" in:\n${text}`);
  return match[1]!.trim();
}

describe('host usage through the MCollective fleet', () => {
  test('--json: every identity answers with its own reading', async () => {
    const result = await fleet.mco(['rpc', 'host', 'usage', '--nodes', fleet.nodesFile, '--json']);
    expect(result.exitCode).toBe(0);
    expect(result.json?.map((reply) => [reply.sender, reply.statuscode])).toEqual([['hv1', 0], ['hv2', 0]]);
    const [hv1, hv2] = result.json as [RpcReply, RpcReply];
    // Both identities are this machine: the fixed figures are its own, the moving ones plausible.
    const memTotalMb = Math.floor(Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024);
    for (const reply of [hv1, hv2]) {
      expect(reply.data).toMatchObject({ cpu_count: cpus().length, total_memory_mb: memTotalMb, storage_pools: expect.any(Array), numa: expect.any(Array) });
      expect(reply.data).toMatchObject({ cpu: { count: reply.data.cpu_count }, vms: { qemu: { total: expect.any(Number) } } });
      expect(Number(reply.data.free_memory_mb)).toBeLessThanOrEqual(Number(reply.data.total_memory_mb));
    }
  });

  test('the text output prints, under each identity, its values and then the fleet totals and CPU average', async () => {
    const result = await fleet.mco(['rpc', 'host', 'usage', '--nodes', fleet.nodesFile]);
    expect(result.exitCode).toBe(0);
    const text = plain(result.stdout);
    // The summary must add up what this very run printed for each identity.
    const perIdentity = (label: string) => [...text.matchAll(new RegExp(`^ +${escape(label)}: ([\\d.]+)$`, 'gm'))].map((m) => Number(m[1]));
    const total = (label: string) => perIdentity(label).reduce((sum, value) => sum + value, 0);
    for (const label of ['CPUs', 'Running VMs', 'VMs', 'Memory (MiB)', 'Free memory (MiB)', 'Available memory (MiB)', 'CPU busy (%)']) {
      expect([label, perIdentity(label).length]).toEqual([label, 2]);
    }
    expect(summaryOf(text, 'CPUs')).toBe(`Total: ${total('CPUs')}`);
    expect(summaryOf(text, 'Running VMs')).toBe(`Total: ${total('Running VMs')}`);
    expect(summaryOf(text, 'VMs')).toBe(`Total: ${total('VMs')}`);
    expect(summaryOf(text, 'Memory (MiB)')).toBe(`Total: ${total('Memory (MiB)')} MiB`);
    expect(summaryOf(text, 'Free memory (MiB)')).toBe(`Total: ${total('Free memory (MiB)')} MiB`);
    expect(summaryOf(text, 'Available memory (MiB)')).toBe(`Total: ${total('Available memory (MiB)')} MiB`);

    const busy = perIdentity('CPU busy (%)');
    const average = Number(/^Average: (\d+\.\d)%$/.exec(summaryOf(text, 'CPU busy (%)'))?.[1]);
    // MCollective divides Integers when every value is whole (aggregate/average.rb); the
    // printed average has one decimal, so it may be off by half of one, plus the float error
    // of the sum and the division.
    const slack = busy.every(Number.isInteger) ? 0.5 : 0.05;
    expect(Math.abs(average - total('CPU busy (%)') / 2)).toBeLessThanOrEqual(slack + 1e-9);
    expect(text).not.toContain('Could not compute summary');
  });
});
