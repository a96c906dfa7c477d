import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

// CPU utilisation from two reads of /proc/stat spaced by a short window. No process is
// spawned and the window runs while the virsh batches do, so it costs no extra time.
// `virsh nodecpustats --percent` was not used: it sleeps a fixed second inside virsh.

/** Jiffies since boot over all CPUs, by kind (proc(5): the "cpu" line). */
export interface CpuTimes {
  readonly user: number;
  readonly nice: number;
  readonly system: number;
  readonly idle: number;
  readonly iowait: number;
  readonly irq: number;
  readonly softirq: number;
  readonly steal: number;
}

export interface ProcStat {
  readonly total: CpuTimes;
  /** Online CPUs: one "cpuN" line each. */
  readonly cpus: number;
}

export interface CpuUsage {
  readonly count: number;
  /** Busy share of all CPUs over the window: everything but idle and iowait, 0-100. */
  readonly percent: number;
  readonly user_percent: number;
  readonly system_percent: number;
  readonly iowait_percent: number;
  readonly steal_percent: number;
  readonly window_ms: number;
  /** The kernel's 1, 5 and 15 minute load averages, for a longer view than the window. */
  readonly load_1: number;
  readonly load_5: number;
  readonly load_15: number;
}

const FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

export function parseProcStat(text: string): ProcStat {
  const line = /^cpu\s+([\d\s]+)$/m.exec(text);
  if (!line) throw new Error('no "cpu" line in /proc/stat');
  const values = line[1]!.trim().split(/\s+/).map(Number);
  const total = Object.fromEntries(FIELDS.map((field, i) => [field, values[i] ?? 0])) as unknown as CpuTimes;
  return { total, cpus: text.match(/^cpu\d+\s/gm)?.length ?? 0 };
}

/** Shares of the time between two samples; guest time is already inside user (proc(5)). */
export function cpuUsageBetween(before: ProcStat, after: ProcStat, windowMs: number): CpuUsage {
  const delta = Object.fromEntries(FIELDS.map((field) => [field, Math.max(0, after.total[field] - before.total[field])])) as unknown as CpuTimes;
  const elapsed = FIELDS.reduce((sum, field) => sum + delta[field], 0);
  const share = (jiffies: number) => (elapsed === 0 ? 0 : Math.round((jiffies / elapsed) * 1000) / 10);
  const [load1, load5, load15] = loadavg();
  return {
    count: after.cpus,
    percent: share(elapsed - delta.idle - delta.iowait),
    user_percent: share(delta.user + delta.nice),
    system_percent: share(delta.system + delta.irq + delta.softirq),
    iowait_percent: share(delta.iowait),
    steal_percent: share(delta.steal),
    window_ms: windowMs,
    load_1: round2(load1 ?? 0),
    load_5: round2(load5 ?? 0),
    load_15: round2(load15 ?? 0),
  };
}

export async function sampleCpu(windowMs: number, signal?: AbortSignal, path = '/proc/stat'): Promise<CpuUsage> {
  const before = parseProcStat(await readFile(path, 'utf8'));
  const started = performance.now();
  await sleep(windowMs, undefined, signal ? { signal } : undefined);
  const after = parseProcStat(await readFile(path, 'utf8'));
  return cpuUsageBetween(before, after, Math.round(performance.now() - started));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
