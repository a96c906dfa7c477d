import type { AdmissionConfig, HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { lockKey, withLock } from '../files/locks.js';
import { isActive, readHostAllocation, type HostAllocation } from '../monitoring/allocation.js';

// Admission control: a create, start or modify that would take the host past one of its
// configured limits is refused with ADMISSION_DENIED, naming the limit and the numbers
// (docs/ADMISSION.md). What counts:
//   memory and vCPUs: of the VMs that are not shut off (those hold them), plus the one asked
//                     for; a VM that stays shut off must only fit on its own, or it could
//                     never start here;
//   max_vms:          every defined VM, in any state, on both connections.
// The decision is taken under the host lock, which the define, start or resize it allows
// keeps until it is done: 20 concurrent creates cannot all read the same free room. With
// no limit configured nothing is read and no lock is taken.

export type AdmissionRequest =
  /** A new VM; with start, it runs at once. */
  | { readonly kind: 'create'; readonly name: string; readonly memoryMb: number; readonly vcpus: number; readonly start: boolean }
  /** A defined VM, started (no-op when it runs already). */
  | { readonly kind: 'start'; readonly name: string }
  /** A defined VM given more memory or vCPUs (live if it runs, else at its next start). */
  | { readonly kind: 'resize'; readonly name: string; readonly memoryMb?: number; readonly vcpus?: number };

export type AdmissionLimitName = 'memory' | 'vcpus' | 'max_vms';

/** Whether the request asks for anything a limit counts: an autostart-only modify does not. */
function asksForRoom(request: AdmissionRequest): boolean {
  return request.kind !== 'resize' || request.memoryMb !== undefined || request.vcpus !== undefined;
}

/** The configured limits, or null when there are none. */
export function configuredLimits(config: HvConfig): AdmissionConfig | null {
  const limits = config.admission ?? {};
  const any = limits.memory_overcommit_ratio !== undefined || limits.vcpu_ratio !== undefined || limits.max_vms !== undefined || limits.reserved_memory_mb !== undefined;
  return any ? limits : null;
}

/** What the host may still take, as `host capacity` reports it and admission judges it. */
export interface Capacity {
  readonly cpus: number;
  readonly memory_mb: number;
  readonly reserved_memory_mb: number;
  /** (memory − reserved) × memory_overcommit_ratio; null when memory is not limited. */
  readonly memory_limit_mb: number | null;
  readonly allocated_memory_mb: number;
  /** Memory a new running VM may still be given: up to the limit, else up to what is not reserved. */
  readonly free_memory_mb: number;
  /** CPUs × vcpu_ratio; null when vCPUs are not limited. */
  readonly vcpu_limit: number | null;
  readonly allocated_vcpus: number;
  /** vCPUs a new running VM may still be given: up to the limit, else up to the host's CPUs. */
  readonly free_vcpus: number;
  readonly vms: number;
  readonly running_vms: number;
  readonly max_vms: number | null;
}

export function capacityOf(allocation: HostAllocation, limits: AdmissionConfig | null): Capacity {
  const reserved = limits?.reserved_memory_mb ?? 0;
  const memoryRatio = limits?.memory_overcommit_ratio ?? (limits?.reserved_memory_mb !== undefined ? 1 : undefined);
  const memoryLimit = memoryRatio === undefined ? null : Math.floor(Math.max(0, allocation.memory_mb - reserved) * memoryRatio);
  const vcpuLimit = limits?.vcpu_ratio === undefined ? null : Math.floor(allocation.cpus * limits.vcpu_ratio);
  const active = allocation.vms.filter(isActive);
  const allocatedMemory = active.reduce((sum, vm) => sum + vm.memory_mb, 0);
  const allocatedVcpus = active.reduce((sum, vm) => sum + vm.vcpus, 0);
  return {
    cpus: allocation.cpus,
    memory_mb: allocation.memory_mb,
    reserved_memory_mb: reserved,
    memory_limit_mb: memoryLimit,
    allocated_memory_mb: allocatedMemory,
    free_memory_mb: Math.max(0, (memoryLimit ?? allocation.memory_mb - reserved) - allocatedMemory),
    vcpu_limit: vcpuLimit,
    allocated_vcpus: allocatedVcpus,
    free_vcpus: Math.max(0, (vcpuLimit ?? allocation.cpus) - allocatedVcpus),
    vms: allocation.vms.length,
    running_vms: active.length,
    max_vms: limits?.max_vms ?? null,
  };
}

/**
 * The refusal `request` would get on a host in this state, or null when it is admitted.
 * Pure: the tests feed it allocations and limits.
 */
export function judge(allocation: HostAllocation, limits: AdmissionConfig | null, request: AdmissionRequest): HvError | null {
  if (!limits) return null;
  const capacity = capacityOf(allocation, limits);
  const current = request.kind === 'create' ? undefined : allocation.vms.find((vm) => vm.name === request.name);
  // A VM another request deleted meanwhile is that request's NOT_FOUND to report, not ours.
  if (request.kind !== 'create' && !current) return null;

  if (request.kind === 'create' && capacity.max_vms !== null && capacity.vms + 1 > capacity.max_vms) {
    const defined = `${capacity.vms} VM${capacity.vms === 1 ? '' : 's'}`;
    return denied('max_vms', `this host has ${defined} defined and admission.max_vms is ${capacity.max_vms}: delete a VM, or raise admission.max_vms`, {
      defined: capacity.vms,
      max_vms: capacity.max_vms,
    });
  }
  if (request.kind === 'start' && isActive(current!)) return null;

  const wanted = {
    memory: request.kind === 'start' ? current!.memory_mb : (request.memoryMb ?? current!.memory_mb),
    vcpus: request.kind === 'start' ? current!.vcpus : (request.vcpus ?? current!.vcpus),
  };
  // A resize asks only for what it adds: giving a VM less, or the same, is always allowed.
  const before = request.kind === 'resize' ? { memory: current!.memory_mb, vcpus: current!.vcpus } : { memory: 0, vcpus: 0 };
  const runs = request.kind === 'create' ? request.start : request.kind === 'start' || isActive(current!);
  const verb = request.kind === 'create' ? (request.start ? 'creating and starting' : 'creating') : request.kind === 'start' ? 'starting' : 'resizing';
  const who = request.name ? `${verb} '${request.name}'` : `${verb} a VM`;

  if (capacity.memory_limit_mb !== null && wanted.memory > before.memory) {
    const others = runs ? capacity.allocated_memory_mb - before.memory : 0;
    if (others + wanted.memory > capacity.memory_limit_mb) {
      const limit = `this host's memory limit of ${capacity.memory_limit_mb} MiB ((${capacity.memory_mb} MiB − ${capacity.reserved_memory_mb} MiB reserved) × memory_overcommit_ratio ${limits.memory_overcommit_ratio ?? 1})`;
      const why = runs
        ? `${who} needs ${wanted.memory} MiB and running VMs already hold ${others} MiB of ${limit}: stop a VM, ask for less memory, or raise admission.memory_overcommit_ratio`
        : `${who}: its ${wanted.memory} MiB is more than ${limit}, so it could never start here; ask for less memory`;
      return denied('memory', why, { requested_mb: wanted.memory, allocated_mb: others, limit_mb: capacity.memory_limit_mb });
    }
  }
  if (capacity.vcpu_limit !== null && wanted.vcpus > before.vcpus) {
    const others = runs ? capacity.allocated_vcpus - before.vcpus : 0;
    if (others + wanted.vcpus > capacity.vcpu_limit) {
      const limit = `this host's vCPU limit of ${capacity.vcpu_limit} (${capacity.cpus} CPUs × vcpu_ratio ${limits.vcpu_ratio})`;
      const why = runs
        ? `${who} needs ${wanted.vcpus} vCPUs and running VMs already hold ${others} of ${limit}: stop a VM, ask for fewer vCPUs, or raise admission.vcpu_ratio`
        : `${who}: its ${wanted.vcpus} vCPUs are more than ${limit}, so it could never start here; ask for fewer vCPUs`;
      return denied('vcpus', why, { requested_vcpus: wanted.vcpus, allocated_vcpus: others, limit_vcpus: capacity.vcpu_limit });
    }
  }
  return null;
}

function denied(limit: AdmissionLimitName, why: string, numbers: Record<string, number>): HvError {
  return new HvError('ADMISSION_DENIED', `Admission denied: ${why}`, { limit, ...numbers });
}

export interface AdmissionContext {
  /** Epoch ms after which waiting for the host lock is given up. */
  readonly deadline: number;
  readonly signal?: AbortSignal;
}

/**
 * An early answer, without the lock: a create refused here has made nothing yet. Another
 * request may still take the room before `withAdmission` decides for good.
 */
export async function precheckAdmission(config: HvConfig, request: AdmissionRequest, ctx: AdmissionContext): Promise<void> {
  const limits = configuredLimits(config);
  if (!limits || !asksForRoom(request)) return;
  const refusal = judge(await readHostAllocation(config, ctx.signal), limits, request);
  if (refusal) throw refusal;
}

/** Decides under the host lock and runs `work` (the define, start or resize) before letting it go. */
export async function withAdmission<T>(config: HvConfig, request: AdmissionRequest, ctx: AdmissionContext, work: () => Promise<T>): Promise<T> {
  const limits = configuredLimits(config);
  if (!limits || !asksForRoom(request)) return work();
  return withLock(lockKey.host(), { directory: config.paths.lock_dir, deadline: ctx.deadline }, async () => {
    const refusal = judge(await readHostAllocation(config, ctx.signal), limits, request);
    if (refusal) throw refusal;
    return work();
  });
}
