import type { ActionContext } from '../contract.js';
import type { ReplyData } from '../../core/reply.js';
import type { VolumeView } from '../../storage/index.js';

export function poolName(context: ActionContext): string {
  return String(context.inputs.pool);
}

export function volumeName(context: ActionContext): string {
  return String(context.inputs.name);
}

export function volumeReply(volume: VolumeView): ReplyData {
  return {
    pool: volume.pool,
    name: volume.name,
    plugin: volume.plugin,
    path: volume.path,
    format: volume.format,
    capacity_mb: volume.capacity_mb,
    allocation_mb: volume.allocation_mb,
    backing: volume.backing,
    used_by: volume.usedBy.map((user) => user.vm).sort(),
  };
}
