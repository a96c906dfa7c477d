import { statfs } from 'node:fs/promises';
import type { PoolConfig } from '../config/schema.js';
import { ToolError } from '../process/failure.js';
import { runProcess } from '../process/run.js';
import { compareText } from '../core/text-order.js';

// hvagent's own pools (config storage.pools), measured live: a directory pool by statfs(2)
// of its path (no process), an LVM pool by one `vgs` for all its volume groups. A pool
// that cannot be measured is reported with a status, never as a failed request: one
// missing mount must not hide the rest of the host.

export type PoolStatus = 'ok' | 'missing' | 'no_path' | 'vgs_missing' | 'error';

export interface ConfiguredPoolUsage {
  readonly name: string;
  readonly plugin: PoolConfig['plugin'];
  /** The directory (dir, raw, qcow2) or volume group (lvm). */
  readonly location: string | null;
  readonly status: PoolStatus;
  /** Size of the filesystem or volume group holding the pool (MiB). */
  readonly capacity_mb: number | null;
  /** What an unprivileged writer may still use (statfs f_bavail; VG free extents). */
  readonly available_mb: number | null;
  /** hvagent's own cap on the pool's volumes, when configured. */
  readonly max_total_mb: number | null;
  readonly message?: string;
}

const MIB = 1048576;

export async function readConfiguredPools(pools: Record<string, PoolConfig>): Promise<ConfiguredPoolUsage[]> {
  const entries = Object.entries(pools).sort(([a], [b]) => compareText(a, b));
  const groups = entries.flatMap(([, pool]) => (pool.plugin === 'lvm' && pool.volume_group ? [pool.volume_group] : []));
  const volumeGroups = groups.length > 0 ? await readVolumeGroups([...new Set(groups)]) : new Map();
  return Promise.all(entries.map(async ([name, pool]) => {
    const base = { name, plugin: pool.plugin, max_total_mb: pool.max_total_mb ?? null };
    if (pool.plugin === 'lvm') {
      const location = pool.volume_group ?? null;
      return { ...base, location, ...(location ? volumeGroupUsage(volumeGroups, location) : unmeasured('no_path')) };
    }
    const location = pool.path ?? null;
    return { ...base, location, ...(location ? await directoryUsage(location) : unmeasured('no_path')) };
  }));
}

type Measured = Pick<ConfiguredPoolUsage, 'status' | 'capacity_mb' | 'available_mb' | 'message'>;

function unmeasured(status: PoolStatus, message?: string): Measured {
  return { status, capacity_mb: null, available_mb: null, ...(message && { message }) };
}

async function directoryUsage(path: string): Promise<Measured> {
  try {
    const fs = await statfs(path);
    return { status: 'ok', capacity_mb: Math.floor((fs.blocks * fs.bsize) / MIB), available_mb: Math.floor((fs.bavail * fs.bsize) / MIB) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return unmeasured('missing', `${path} does not exist`);
    return unmeasured('error', `statfs ${path}: ${(error as Error).message}`);
  }
}

/** Size and free bytes per volume group, or the reason vgs could not tell. */
type VolumeGroups = Map<string, { size: number; free: number }> | { readonly problem: Measured };

async function readVolumeGroups(names: string[]): Promise<VolumeGroups> {
  try {
    // vgs exits non-zero when one group is missing, yet still prints the others.
    const { stdout } = await runProcess('vgs', ['--noheadings', '--units', 'b', '--nosuffix', '--separator', ':', '-o', 'vg_name,vg_size,vg_free', ...names], {
      timeoutMs: 10_000,
      allowNonZeroExit: true,
    });
    return parseVgs(stdout);
  } catch (error) {
    if (error instanceof ToolError && error.code !== 'CANCELLED') {
      return { problem: error.notInstalled ? unmeasured('vgs_missing', 'vgs (lvm2) is not installed') : unmeasured('error', error.message) };
    }
    throw error;
  }
}

export function parseVgs(text: string): Map<string, { size: number; free: number }> {
  const groups = new Map<string, { size: number; free: number }>();
  for (const line of text.split('\n')) {
    const [name, size, free] = line.trim().split(':');
    if (name && /^\d+$/.test(size ?? '') && /^\d+$/.test(free ?? '')) groups.set(name, { size: Number(size), free: Number(free) });
  }
  return groups;
}

function volumeGroupUsage(groups: VolumeGroups, name: string): Measured {
  if (!(groups instanceof Map)) return groups.problem;
  const group = groups.get(name);
  if (!group) return unmeasured('missing', `volume group ${name} not found`);
  return { status: 'ok', capacity_mb: Math.floor(group.size / MIB), available_mb: Math.floor(group.free / MIB) };
}
