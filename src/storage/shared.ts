import { join } from 'node:path';
import type { HvConfig, PoolConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { lockKey, withLock } from '../files/locks.js';
import { runVirsh } from '../libvirt/index.js';
import { backingChain, canonicalPath, qemuDiskUsers } from './users.js';

// A pool declared `shared: true` is one directory that other hosts mount too (NFS and the
// like, as docs/MIGRATION.md recommends for migration). What is per host for other pools
// must then hold across hosts:
//   - its volume locks (and its quota lock) are flock(2) locks on files in the pool
//     directory itself (.hvagent-locks/), taken besides the local ones: Linux's NFS client
//     turns flock into byte-range locks the server arbitrates (NFSv4, or NLM for v3), so
//     an agent on any host that mounts the pool sees them;
//   - "which VMs use this volume" also asks the libvirtd of every host in
//     storage.shared_hosts (one virsh domstats process each, as for this host), and a
//     volume is removed only when every one of them answered and none uses it.

const SHARED_LOCK_DIRECTORY = '.hvagent-locks';

/** Where a pool's volume and quota locks are: its own directory when shared, else the host's lock directory. */
export function lockDirectoryOf(config: HvConfig, pool: PoolConfig): string {
  return pool.shared ? join(pool.path!, SHARED_LOCK_DIRECTORY) : config.paths.lock_dir;
}

/** Holds the cross-host lock of each volume of a shared pool among `volumes` (none for the others). */
export function withSharedVolumeLocks<T>(config: HvConfig, deadline: number, volumes: ReadonlyArray<{ pool: string; name: string }>, work: () => Promise<T>): Promise<T> {
  const shared = volumes.filter(({ pool }) => config.storage.pools[pool]?.shared === true);
  return shared.reduceRight<() => Promise<T>>(
    (inner, { pool, name }) =>
      () =>
        withLock(lockKey.volume(pool, name), { directory: lockDirectoryOf(config, config.storage.pools[pool]!), deadline }, inner),
    work,
  )();
}

/** A VM of another host using a volume: `name@host`. */
export interface PeerUser {
  vm: string;
  state: string;
}

/**
 * The VMs defined on every host of storage.shared_hosts, by each canonical path they use
 * (disks and backing chains). A host that cannot be asked refuses the caller's change:
 * not knowing whether another host runs from a disk is no permission to remove it.
 */
export async function peerUsage(config: HvConfig, signal?: AbortSignal): Promise<Map<string, PeerUser[]>> {
  const hosts = config.storage.shared_hosts ?? [];
  const answers = await Promise.all(
    hosts.map(async (uri) => {
      try {
        return { uri, users: qemuDiskUsers(await runVirsh(['domstats', '--raw', '--state', '--block', '--backing'], { uri, ...(signal && { signal }) })) };
      } catch (error) {
        throw new HvError(
          'HYPERVISOR_UNREACHABLE',
          `Cannot ask ${uri} (storage.shared_hosts) which of its VMs use the shared pool's volumes, so nothing is removed or given to a VM: ${error instanceof Error ? error.message : String(error)}`,
          { host: uri },
          { cause: error },
        );
      }
    }),
  );
  const known = new Map<string, Promise<string | null>>();
  const usage = new Map<string, PeerUser[]>();
  for (const { uri, users } of answers) {
    for (const user of users) {
      const chains = (await Promise.all(user.paths.map((path) => backingChain(path, known)))).flat();
      for (const path of new Set([...user.paths, ...chains].map(canonicalPath))) {
        usage.set(path, [...(usage.get(path) ?? []), { vm: `${user.vm}@${hostOf(uri)}`, state: user.state }]);
      }
    }
  }
  return usage;
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host || uri;
  } catch {
    return uri;
  }
}
