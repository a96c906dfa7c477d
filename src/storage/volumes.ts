import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { resolveAllowedPath } from '../files/containment.js';
import { Intent } from '../files/intents.js';
import { lockKey } from '../files/locks.js';
import { Rollback, withRollback } from '../files/rollback.js';
import { checkImageChain } from './image-chain.js';
import { syncLibvirtPool } from './libvirt-pool.js';
import { peerUsage } from './shared.js';
import { withVolumeLock } from './lock.js';
import { validateVolumeName } from './names.js';
import { undoVolumeCreate } from './undo.js';
import { openPool } from './pool.js';
import type { CreateVolumeRequest, ImageFormat, Pool, VolumeInfo } from './types.js';
import { canonicalPath, volumeUsage, type VolumeUser } from './users.js';

// The volume operations the API offers, each on a named pool: a change holds the volume's
// lock and then refreshes libvirt's view of the pool (best effort: the change stands even
// when libvirt cannot be told, docs/STORAGE.md); a read says which VMs use each volume.

export interface VolumeView extends VolumeInfo {
  /** Defined VMs using it (a disk, a backing file of one, a container's root). */
  readonly usedBy: readonly VolumeUser[];
}

function storageContext(ctx: OperationContext) {
  return { signal: ctx.signal, progress: ctx.progress, deadline: ctx.deadline };
}

async function changeVolume<T>(config: HvConfig, poolName: string, name: string, ctx: OperationContext, work: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = openPool(config, poolName);
  const result = await withVolumeLock(config, ctx.deadline, pool.name, name, () => work(pool));
  await syncLibvirtPool(config, pool.name, ctx.signal);
  return result;
}

function usersOf(usage: Map<string, VolumeUser[]>, path: string): VolumeUser[] {
  return usage.get(canonicalPath(path)) ?? [];
}

export interface NewVolume {
  readonly sizeMb?: number;
  /** A thin clone of (qcow2 pools) or a full copy of an image in paths.images, in `imageFormat`. */
  readonly backing?: string;
  readonly source?: string;
  readonly imageFormat: ImageFormat;
}

export async function createVolume(config: HvConfig, poolName: string, name: string, volume: NewVolume, ctx: OperationContext): Promise<VolumeView> {
  const pool = openPool(config, poolName);
  // A copy can take minutes: killed meanwhile, the next request on this volume removes
  // what it made (and its part file), from the intent recorded before it began. The
  // intent ends only once libvirt has been told too, just before the reply: a request
  // killed before that has its volume undone, never one whose volume was kept unreported.
  const intent = Intent.begin(config.paths.lock_dir, [lockKey.volume(pool.name, validateVolumeName(name))], `volume create ${pool.name}/${name}`);
  const rollback = new Rollback(intent);
  const made = await changeVolume(config, poolName, name, ctx, (locked) =>
    withRollback(
      rollback,
      async () => {
        const request: CreateVolumeRequest = { name, ...(volume.sizeMb !== undefined && { sizeMb: volume.sizeMb }) };
        for (const input of ['backing', 'source'] as const) {
          const path = volume[input];
          if (path === undefined) continue;
          const real = resolveAllowedPath(input, path, 'file', config.paths.images);
          await checkImageChain(input, real, volume.imageFormat, config.paths.images, ctx.signal);
          request[input] = { path: real, format: volume.imageFormat };
        }
        request.beforeMake = () => undoVolumeCreate(rollback, locked, name);
        return { ...(await locked.create(request, storageContext(ctx))), usedBy: [] };
      },
      { finish: false },
    ),
  );
  rollback.finish();
  return made;
}

/**
 * A defined VM keeps a volume unless the caller forces it; a running (or paused) one keeps
 * it always: its QEMU or container has it open. Deleting a volume that is not there is no change.
 */
export function deleteVolume(config: HvConfig, poolName: string, name: string, force: boolean, ctx: OperationContext): Promise<{ changed: boolean; usedBy: string[] }> {
  return changeVolume(config, poolName, name, ctx, async (pool) => {
    const found = await pool.info(name, storageContext(ctx));
    if (!found) return { changed: false, usedBy: [] };
    const users = usersOf(await volumeUsage(config, ctx.signal), found.path);
    const usedBy = users.map((user) => user.vm).sort();
    const active = users.filter((user) => user.state !== 'shutoff').map((user) => user.vm);
    if (active.length > 0) {
      throw new HvError('CONFLICT', `Volume '${name}' is in use by ${active.join(', ')}, which ${active.length === 1 ? 'is' : 'are'} not shut off: stop ${active.length === 1 ? 'it' : 'them'} first (force does not override this)`, {
        pool: pool.name,
        name,
        used_by: active,
      });
    }
    if (pool.config.shared) {
      // Another host's VM keeps the volume whatever its state there: this host cannot know what it will do.
      const remote = (await peerUsage(config, ctx.signal)).get(canonicalPath(found.path))?.map((user) => `${user.vm} (${user.state})`) ?? [];
      if (remote.length > 0) {
        throw new HvError('CONFLICT', `Volume '${name}' of shared pool '${pool.name}' is used on another host by ${remote.join(', ')}: remove it there first (force does not override this)`, {
          pool: pool.name,
          name,
          used_by: remote,
        });
      }
    }
    if (usedBy.length > 0 && !force) {
      throw new HvError('CONFLICT', `Volume '${name}' is used by the defined VM${usedBy.length === 1 ? '' : 's'} ${usedBy.join(', ')}: delete with force=true to remove it anyway`, {
        pool: pool.name,
        name,
        used_by: usedBy,
      });
    }
    return { changed: await pool.delete(name, storageContext(ctx)), usedBy };
  });
}

export function resizeVolume(config: HvConfig, poolName: string, name: string, sizeMb: number, shrink: boolean, ctx: OperationContext): Promise<VolumeView & { changed: boolean }> {
  return changeVolume(config, poolName, name, ctx, async (pool) => {
    const before = await pool.info(name, storageContext(ctx));
    if (!before) throw new HvError('NOT_FOUND', `No volume '${name}' in pool '${pool.name}'`, { pool: pool.name, name });
    const after = await pool.resize(name, sizeMb, { shrink }, storageContext(ctx));
    const usage = await volumeUsage(config, ctx.signal);
    return { ...after, usedBy: usersOf(usage, after.path), changed: after.capacity_mb !== before.capacity_mb };
  });
}

export async function describeVolume(config: HvConfig, poolName: string, name: string, signal: AbortSignal): Promise<VolumeView> {
  const pool = openPool(config, poolName);
  const [found, usage] = await Promise.all([pool.info(name, { signal }), volumeUsage(config, signal)]);
  if (!found) throw new HvError('NOT_FOUND', `No volume '${name}' in pool '${pool.name}'`, { pool: pool.name, name });
  return { ...found, usedBy: usersOf(usage, found.path) };
}

/** The volumes of one pool, or of every configured pool. */
export async function listVolumes(config: HvConfig, poolName: string | undefined, signal: AbortSignal): Promise<VolumeView[]> {
  const names = poolName === undefined ? Object.keys(config.storage.pools).sort() : [poolName];
  const pools = names.map((name) => openPool(config, name));
  const [usage, ...perPool] = await Promise.all([volumeUsage(config, signal), ...pools.map((pool) => pool.list({ signal }))]);
  return perPool.flat().map((info) => ({ ...info, usedBy: usersOf(usage, info.path) }));
}
