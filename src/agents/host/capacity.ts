import type { ActionHandler } from '../contract.js';
import { readHostAllocation } from '../../monitoring/allocation.js';
import { readConfiguredPools } from '../../monitoring/configured-pools.js';
import { capacityOf, configuredLimits, judge } from '../../vm/admission.js';

// What `mco hvagent capacity` and `place` compare across the fleet, and what the hvagent
// data plugin filters on: the same reading and the same judgement as admission itself.
export const capacity: ActionHandler = async ({ inputs, config, signal }) => {
  const limits = configuredLimits(config);
  const [allocation, pools] = await Promise.all([readHostAllocation(config, signal), readConfiguredPools(config.storage.pools)]);
  const room = capacityOf(allocation, limits);
  const size = inputs.memory_mb === undefined ? undefined : { memoryMb: Number(inputs.memory_mb), vcpus: Number(inputs.vcpus) };
  // No name: the judgement is about room, not about a name already taken.
  const refusal = size && judge(allocation, limits, { kind: 'create', name: '', ...size, start: inputs.start !== false });
  const measured = pools.flatMap((pool) => (pool.available_mb === null ? [] : [pool.available_mb]));
  return {
    free_memory_mb: room.free_memory_mb,
    free_vcpus: room.free_vcpus,
    free_vm_slots: room.max_vms === null ? null : Math.max(0, room.max_vms - room.vms),
    pool_free_mb: measured.length > 0 ? Math.max(...measured) : null,
    admits: size ? !refusal : null,
    refusal: refusal ? refusal.message : null,
    memory_mb: room.memory_mb,
    allocated_memory_mb: room.allocated_memory_mb,
    memory_limit_mb: room.memory_limit_mb,
    cpus: room.cpus,
    allocated_vcpus: room.allocated_vcpus,
    vcpu_limit: room.vcpu_limit,
    vms: room.vms,
    running_vms: room.running_vms,
    limits: {
      memory_overcommit_ratio: limits?.memory_overcommit_ratio ?? null,
      vcpu_ratio: limits?.vcpu_ratio ?? null,
      max_vms: limits?.max_vms ?? null,
      reserved_memory_mb: limits?.reserved_memory_mb ?? null,
    },
    pools: pools.map((pool) => ({ name: pool.name, plugin: pool.plugin, status: pool.status, free_mb: pool.available_mb })),
  };
};
