import type { HvConfig } from '../config/schema.js';
import { runVirshBatch, VirshError } from '../libvirt/index.js';
import { destroyAndUndefine, type RemovableKind } from '../libvirt/remove-defined.js';
import { poolDirectory } from '../files/containment.js';
import { openPool } from './pool.js';

// Each file and directory pool is also a libvirt `dir` pool named `hvagent-<pool>`, so
// `virsh pool-list` / `vol-list` show hvagent's volumes. libvirt does not watch the
// directory; it learns of changes on refresh. Volumes are made by qemu-img directly (one
// process on the provisioning path); the volume agent refreshes libvirt's view after each
// change (one batched virsh process, defining and starting the pool the first time).
// LVM pools are not mirrored: a libvirt logical pool cannot start without device-mapper
// on some hosts, and hvagent does not need it.

export function libvirtPoolName(pool: string): string {
  return `hvagent-${pool}`;
}

export interface SyncResult {
  /** The libvirt pool's name, or null for a pool that is not mirrored. */
  libvirt_pool: string | null;
  /** Why libvirt's view could not be refreshed (the volume change itself stands). */
  error?: string;
}

/** Refreshes (defining and starting first when needed) the libvirt pool mirroring `pool`. */
export async function syncLibvirtPool(config: HvConfig, pool: string, signal?: AbortSignal): Promise<SyncResult> {
  const opened = openPool(config, pool);
  if (opened.plugin === 'lvm') return { libvirt_pool: null };
  const name = libvirtPoolName(pool);
  const options = { uri: config.libvirt.uri, ...(signal && { signal }) };
  try {
    const [refresh] = await runVirshBatch([['pool-refresh', name]], options);
    if (!refresh?.error) return { libvirt_pool: name };
    const directory = poolDirectory(pool, opened.config, true)!;
    const steps = /not found|no storage pool with matching/i.test(refresh.error.stderr)
      ? [['pool-define-as', name, 'dir', '--target', directory], ['pool-autostart', name], ['pool-start', name]]
      : [['pool-start', name]];
    const results = await runVirshBatch(steps, options);
    const failed = results.find((result) => result.error && !/already active/i.test(result.error.stderr));
    return failed ? { libvirt_pool: name, error: failed.error!.message } : { libvirt_pool: name };
  } catch (error) {
    return { libvirt_pool: name, error: error instanceof VirshError ? error.message : String(error) };
  }
}

const LIBVIRT_POOL: RemovableKind = {
  destroy: 'pool-destroy',
  undefine: 'pool-undefine',
  absent: /Storage pool not found|no storage pool with matching/i,
  inactive: /is not active/i,
};

/** Removes a libvirt pool (a mirror a request may have defined); whether it existed. */
export function removeLibvirtPool(uri: string, name: string): Promise<boolean> {
  return destroyAndUndefine(uri, LIBVIRT_POOL, name);
}

/** Removes the libvirt mirror of a pool (tests, and an operator retiring a pool). */
export async function forgetLibvirtPool(config: HvConfig, pool: string): Promise<void> {
  await removeLibvirtPool(config.libvirt.uri, libvirtPoolName(pool));
}
