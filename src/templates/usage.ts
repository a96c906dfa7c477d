import type { HvConfig } from '../config/schema.js';
import { backingChain, canonicalPath, openPool, volumeUsage } from '../storage/index.js';

// Who still needs a template's file: a VM whose disk chain holds it (a thin clone's backing
// file, an installer ISO in a CD-ROM drive; running or not), or a volume of a qcow2 pool
// backed by it (a clone not attached to any VM yet). Such a file is never removed.

export interface FileUsers {
  vms: string[];
  /** pool/name */
  volumes: string[];
}

/** Reads every user once; the answer looks files up by any spelling of their path. */
export async function readFileUsers(config: HvConfig, signal?: AbortSignal): Promise<(path: string) => FileUsers> {
  const vmUsage = await volumeUsage(config, signal);
  // A VM's own disks are named by the VM; only volumes no VM uses are named as volumes.
  const volumeUsers = await backedVolumes(config, (path) => !vmUsage.has(canonicalPath(path)), signal);
  return (path) => {
    const canonical = canonicalPath(path);
    return { vms: (vmUsage.get(canonical) ?? []).map((user) => user.vm).sort(), volumes: (volumeUsers.get(canonical) ?? []).sort() };
  };
}

async function backedVolumes(config: HvConfig, unattached: (path: string) => boolean, signal?: AbortSignal): Promise<Map<string, string[]>> {
  const pools = Object.entries(config.storage.pools).filter(([, pool]) => pool.plugin === 'qcow2');
  const known = new Map<string, Promise<string | null>>();
  const users = new Map<string, string[]>();
  await Promise.all(
    pools.map(async ([name]) => {
      const volumes = await openPool(config, name).list({ ...(signal && { signal }) });
      await Promise.all(
        volumes.filter((volume) => unattached(volume.path)).map(async (volume) => {
          for (const path of await backingChain(volume.path, known)) {
            const canonical = canonicalPath(path);
            users.set(canonical, [...(users.get(canonical) ?? []), `${name}/${volume.name}`]);
          }
        }),
      );
    }),
  );
  return users;
}

export function inUse(users: FileUsers): boolean {
  return users.vms.length > 0 || users.volumes.length > 0;
}

export function describeUsers(users: FileUsers): string {
  return [users.vms.length ? `VMs ${users.vms.join(', ')}` : '', users.volumes.length ? `volumes ${users.volumes.join(', ')}` : ''].filter(Boolean).join(' and ');
}
