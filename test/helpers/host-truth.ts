// What the host really is, read without hvagent, to check hvagent's answers against.
import { readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { execa } from 'execa';

export interface HostTruth {
  hostname: string;
  onlineCpus: number;
  memTotalMb: number;
  kvmUsable: boolean;
  lxcAnswers: boolean;
  qemuVersion: string;
}

export async function hostTruth(): Promise<HostTruth> {
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const memTotalKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1]);
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const lxc = await execa('virsh', ['-c', 'lxc:///system', 'uri'], { reject: false, timeout: 10_000 });
  const qemu = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  return {
    hostname: hostname(),
    onlineCpus: cpus().length,
    memTotalMb: Math.floor(memTotalKb / 1024),
    kvmUsable: /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo),
    lxcAnswers: lxc.exitCode === 0,
    qemuVersion: /version (\d+\.\d+\.\d+)/.exec(String(qemu.stdout))?.[1] ?? 'unknown',
  };
}

/** The checks every protocol's `host info` answer must pass. */
export function expectRealHostInfo(data: Record<string, unknown>, truth: HostTruth, uri = 'qemu:///system'): void {
  const hypervisor = data.hypervisor as Record<string, unknown>;
  const cpu = data.cpu as Record<string, number | string>;
  const memory = data.memory as Record<string, number>;
  const numa = data.numa as Array<{ cpus: number[]; memory_mb: number }>;
  expect(data.hostname).toBe(truth.hostname);
  expect(hypervisor.uri).toBe(uri);
  expect(hypervisor.driver).toBe('QEMU');
  expect(hypervisor.version).toBe(truth.qemuVersion);
  expect(cpu.total_cpus).toBe(truth.onlineCpus);
  expect(Number(cpu.sockets) * Number(cpu.cores_per_socket) * Number(cpu.threads_per_core)).toBeGreaterThanOrEqual(truth.onlineCpus);
  expect(Math.abs(memory.total_mb! - truth.memTotalMb)).toBeLessThanOrEqual(Math.ceil(truth.memTotalMb * 0.02));
  expect(memory.free_mb).toBeGreaterThan(0);
  expect(memory.free_mb).toBeLessThanOrEqual(memory.total_mb!);
  expect(numa.length).toBeGreaterThanOrEqual(1);
  expect(numa.flatMap((cell) => cell.cpus).sort((a, b) => a - b)).toEqual([...Array(truth.onlineCpus).keys()]);
  const classes = data.vm_classes as string[];
  expect(classes).toContain('qemu');
  expect(classes.includes('kvm')).toBe(truth.kvmUsable);
  expect(classes.includes('lxc')).toBe(truth.lxcAnswers);
}
