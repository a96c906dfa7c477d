import type { ActionContext } from '../contract.js';
import type { ReplyData } from '../../core/reply.js';
import { canonicalPath, openPool, syncLibvirtPool, withVolumeLock, type Pool, type StorageOpContext, type VolumeInfo, type VolumeUser } from '../../storage/index.js';

export function poolOf(context: ActionContext): Pool {
  return openPool(context.config, String(context.inputs.pool));
}

export function volumeName(context: ActionContext): string {
  return String(context.inputs.name);
}

export function opContext(context: ActionContext): StorageOpContext {
  return { signal: context.signal, progress: context.progress, deadline: context.deadline };
}

/** Runs a mutating action under the volume's lock, then refreshes libvirt's view of the pool. */
export async function underVolumeLock<T>(context: ActionContext, work: (pool: Pool, name: string) => Promise<T>): Promise<T> {
  const pool = poolOf(context);
  const name = volumeName(context);
  const result = await withVolumeLock(context.config, context.deadline, pool.name, name, () => work(pool, name));
  // Best effort: the volume change stands even when libvirt cannot be told (docs/STORAGE.md).
  await syncLibvirtPool(context.config, pool.name, context.signal);
  return result;
}

export function usersOf(usage: Map<string, VolumeUser[]>, path: string): VolumeUser[] {
  return usage.get(canonicalPath(path)) ?? [];
}

export function volumeReply(info: VolumeInfo, usedBy: readonly VolumeUser[]): ReplyData {
  return {
    pool: info.pool,
    name: info.name,
    plugin: info.plugin,
    path: info.path,
    format: info.format,
    capacity_mb: info.capacity_mb,
    allocation_mb: info.allocation_mb,
    backing: info.backing,
    used_by: usedBy.map((user) => user.vm).sort(),
  };
}
