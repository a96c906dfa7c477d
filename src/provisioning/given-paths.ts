import type { HvConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { isInside } from '../files/containment.js';
import { canonicalPath, checkImageChain, peerUsage, volumeUsage, type PeerUser } from '../storage/index.js';
import type { BaseSpec } from './execute.js';
import type { ProvisionRequest } from './request.js';

// A disk or root directory named by path (disk=, rootfs=) is the VM's own: one that another
// defined VM or container already uses (as a disk, a backing file, a root directory, or a
// directory above or below one; for a disk in a shared pool, on any host of
// storage.shared_hosts too) is refused, since two guests writing one file system
// destroy it. A qcow2 disk's backing chain must stay in the allowed directories
// (storage/image-chain.ts). The caller holds each path's lock (lockKey.path) from this
// check to the define, so two creates naming one path cannot both pass it.

export interface GivenPath {
  readonly input: 'disk' | 'rootfs';
  /** The real path (resolved by baseSpec). */
  readonly path: string;
}

export function givenPaths(request: ProvisionRequest, base: BaseSpec): GivenPath[] {
  const given: GivenPath[] = [];
  if (request.disk !== undefined && base.disks[0]) given.push({ input: 'disk', path: base.disks[0].path });
  if (request.rootfs !== undefined && base.rootfs) given.push({ input: 'rootfs', path: base.rootfs });
  return given;
}

export async function checkGivenPaths(config: HvConfig, request: ProvisionRequest, given: readonly GivenPath[], signal: AbortSignal): Promise<void> {
  if (given.length === 0) return;
  const disk = given.find((entry) => entry.input === 'disk');
  // A disk in a shared pool's directory may be another host's VM's: those hosts are asked too.
  const inSharedPool = disk !== undefined && Object.values(config.storage.pools).some((pool) => pool.shared && pool.path !== undefined && isInside(canonicalPath(pool.path), disk.path));
  const [usage, remote] = await Promise.all([
    volumeUsage(config, signal),
    inSharedPool ? peerUsage(config, signal) : new Map<string, PeerUser[]>(),
    disk && checkImageChain('disk', disk.path, request.diskFormat === 'raw' ? 'raw' : 'qcow2', config.paths.images, signal),
  ]);
  for (const { input, path } of given) {
    const users = new Set<string>();
    for (const [used, by] of [...usage, ...remote]) {
      const clash = input === 'rootfs' ? isInside(path, used) || isInside(used, path) : used === path;
      if (clash) for (const user of by) users.add(`${user.vm} (${user.state})`);
    }
    if (users.size > 0) {
      const list = [...users].sort();
      throw new HvError('CONFLICT', `Input '${input}': ${path} is already used by ${list.join(', ')}; give this VM its own ${input === 'disk' ? 'disk' : 'root directory'}`, {
        input,
        used_by: list,
      });
    }
  }
}
