import type { PoolConfig, StoragePluginType } from '../config/schema.js';
import type { ProgressReporter } from '../core/progress.js';

// The shapes the rest of hvagent codes against (re-exported by index.ts).

/** How a VM uses a volume: a disk file, a block device, or a container's root directory. */
export type VolumeAttach = 'file' | 'block' | 'directory';
export type ImageFormat = 'raw' | 'qcow2';

export interface Volume {
  pool: string;
  name: string;
  plugin: StoragePluginType;
  path: string;
  attach: VolumeAttach;
  /** The format a VM must be told (raw for LVM); null for directories. */
  format: ImageFormat | null;
}

export interface VolumeInfo extends Volume {
  /** Size the guest sees (MiB); 0 for directories, which have none. */
  capacity_mb: number;
  /** Space it takes on the host (MiB, rounded up). */
  allocation_mb: number;
  /** The backing file of a thin qcow2 clone. */
  backing: string | null;
}

export interface StorageOpContext {
  signal?: AbortSignal;
  progress?: ProgressReporter;
  /** Epoch ms after which waiting for a pool's quota lock is given up (default: one minute). */
  deadline?: number;
}

export interface CreateVolumeRequest {
  name: string;
  /** Required unless a source or backing gives the size; grows the clone when larger. */
  sizeMb?: number;
  /** Thin qcow2 clone of this image (qcow2 plugin only). */
  backing?: { path: string; format: ImageFormat };
  /** Full copy of this image (raw, qcow2, lvm), with progress. */
  source?: { path: string; format: ImageFormat };
  /**
   * Called once the name is known to be free, right before anything is made: where the
   * caller records the volume's undo (a volume of that name is then its own).
   */
  beforeMake?: () => void;
}

export interface Pool {
  name: string;
  plugin: StoragePluginType;
  attach: VolumeAttach;
  config: PoolConfig;
  /** CONFLICT if it exists; removes its own partial result on failure. Returns it as made. */
  create(request: CreateVolumeRequest, ctx: StorageOpContext): Promise<VolumeInfo>;
  /** false when it did not exist. Also removes what a killed create of that name left (its part files). */
  delete(name: string, ctx: StorageOpContext): Promise<boolean>;
  resize(name: string, sizeMb: number, options: { shrink: boolean }, ctx: StorageOpContext): Promise<VolumeInfo>;
  info(name: string, ctx: StorageOpContext): Promise<VolumeInfo | undefined>;
  list(ctx: StorageOpContext): Promise<VolumeInfo[]>;
  /** Makes the volume usable (lvchange -ay); nothing to do for files and directories. */
  activate(name: string, ctx: StorageOpContext): Promise<void>;
  /** The reverse (lvchange -an); nothing to do for files and directories. */
  deactivate(name: string, ctx: StorageOpContext): Promise<void>;
  /** Where a volume of this name is (or would be), without touching anything. */
  pathOf(name: string): string;
}
