import type { AdmissionConfig } from '../../../src/config/schema.js';
import type { AllocatedVm, HostAllocation } from '../../../src/monitoring/allocation.js';
import { capacityOf, judge, type AdmissionRequest } from '../../../src/vm/admission.js';

// The admission decision on its own: a host of 4 CPUs and 8192 MiB, VMs in given states.
// Real domains racing for room are in test/vm/admission.test.ts.

const vm = (name: string, state: AllocatedVm['state'], memory_mb: number, vcpus: number): AllocatedVm => ({ name, driver: 'qemu', state, memory_mb, vcpus });
const host = (...vms: AllocatedVm[]): HostAllocation => ({ cpus: 4, memory_mb: 8192, vms });
const refusal = (allocation: HostAllocation, limits: AdmissionConfig | null, request: AdmissionRequest) => {
  const error = judge(allocation, limits, request);
  return error && { code: error.code, message: error.message, details: error.details };
};
const create = (memoryMb: number, vcpus = 1, start = true): AdmissionRequest => ({ kind: 'create', name: 'new', memoryMb, vcpus, start });

describe('admission', () => {
  const busy = host(vm('a', 'running', 2048, 2), vm('b', 'paused', 1024, 1), vm('c', 'shutoff', 4096, 4));

  test('no limits configured: everything is admitted, whatever the host holds', () => {
    expect(judge(busy, null, create(1048576, 256))).toBeNull();
    expect(capacityOf(busy, null)).toMatchObject({ memory_limit_mb: null, vcpu_limit: null, max_vms: null, free_memory_mb: 8192 - 3072, free_vcpus: 1 });
  });

  test('memory counts the VMs that are not shut off, against (memory − reserved) × ratio', () => {
    const limits = { reserved_memory_mb: 1024, memory_overcommit_ratio: 0.5 }; // (8192 − 1024) × 0.5 = 3584
    expect(capacityOf(busy, limits)).toMatchObject({ memory_limit_mb: 3584, allocated_memory_mb: 3072, free_memory_mb: 512 });
    expect(judge(busy, limits, create(512))).toBeNull();
    expect(refusal(busy, limits, create(513))).toEqual({
      code: 'ADMISSION_DENIED',
      message: expect.stringContaining("creating and starting 'new' needs 513 MiB and running VMs already hold 3072 MiB of this host's memory limit of 3584 MiB ((8192 MiB − 1024 MiB reserved) × memory_overcommit_ratio 0.5)"),
      details: { limit: 'memory', requested_mb: 513, allocated_mb: 3072, limit_mb: 3584 },
    });
  });

  test('reserved memory alone limits memory at a ratio of 1', () => {
    expect(capacityOf(busy, { reserved_memory_mb: 4096 })).toMatchObject({ memory_limit_mb: 4096, free_memory_mb: 1024 });
    expect(refusal(busy, { reserved_memory_mb: 4096 }, create(1025))?.details).toMatchObject({ limit: 'memory', limit_mb: 4096 });
  });

  test('a VM that stays shut off must only fit on its own', () => {
    const limits = { memory_overcommit_ratio: 0.5 }; // 4096
    expect(judge(busy, limits, create(4096, 1, false))).toBeNull();
    expect(refusal(busy, limits, create(4097, 1, false))?.message).toContain('could never start here');
  });

  test('start counts the VM being started; a running one is started already', () => {
    const limits = { memory_overcommit_ratio: 0.75 }; // 6144: c's 4096 over a and b's 3072 is too much
    expect(refusal(busy, limits, { kind: 'start', name: 'c' })?.message).toContain("starting 'c' needs 4096 MiB and running VMs already hold 3072 MiB");
    expect(judge(busy, limits, { kind: 'start', name: 'a' })).toBeNull();
    expect(judge(busy, { memory_overcommit_ratio: 1 }, { kind: 'start', name: 'c' })).toBeNull();
  });

  test('resize asks only for what it adds: shrinking is always allowed, even over the limit', () => {
    const limits = { memory_overcommit_ratio: 0.25, vcpu_ratio: 0.5 }; // 2048 MiB, 2 vCPUs: already passed
    expect(judge(busy, limits, { kind: 'resize', name: 'a', memoryMb: 1024, vcpus: 1 })).toBeNull();
    expect(refusal(busy, limits, { kind: 'resize', name: 'a', memoryMb: 2049 })?.details).toEqual({ limit: 'memory', requested_mb: 2049, allocated_mb: 1024, limit_mb: 2048 });
    // Shut off: judged on its own.
    expect(judge(busy, limits, { kind: 'resize', name: 'c', memoryMb: 2048 })).toBeNull();
    expect(refusal(busy, limits, { kind: 'resize', name: 'c', memoryMb: 4097 })?.message).toContain('could never start here');
  });

  test('vCPUs count the VMs that are not shut off, against CPUs × vcpu_ratio', () => {
    const limits = { vcpu_ratio: 1.5 }; // 6; a and b hold 3
    expect(capacityOf(busy, limits)).toMatchObject({ vcpu_limit: 6, allocated_vcpus: 3, free_vcpus: 3 });
    expect(judge(busy, limits, create(16, 3))).toBeNull();
    expect(refusal(busy, limits, create(16, 4))).toEqual({
      code: 'ADMISSION_DENIED',
      message: expect.stringContaining("needs 4 vCPUs and running VMs already hold 3 of this host's vCPU limit of 6 (4 CPUs × vcpu_ratio 1.5)"),
      details: { limit: 'vcpus', requested_vcpus: 4, allocated_vcpus: 3, limit_vcpus: 6 },
    });
  });

  test('max_vms counts every defined VM, shut off too, and limits only creates', () => {
    expect(refusal(busy, { max_vms: 3 }, create(16))).toEqual({
      code: 'ADMISSION_DENIED',
      message: expect.stringContaining('this host has 3 VMs defined and admission.max_vms is 3'),
      details: { limit: 'max_vms', defined: 3, max_vms: 3 },
    });
    expect(judge(busy, { max_vms: 4 }, create(16))).toBeNull();
    expect(judge(busy, { max_vms: 3 }, { kind: 'start', name: 'c' })).toBeNull();
  });

  test('a VM gone meanwhile is left to the NOT_FOUND of the operation itself', () => {
    expect(judge(busy, { max_vms: 0, memory_overcommit_ratio: 0.01 }, { kind: 'start', name: 'gone' })).toBeNull();
  });
});
