import type { PoolConfig, StoragePluginType } from '../../config/schema.js';
import type { ImageFormat, StorageOpContext, VolumeAttach } from '../types.js';

// What each kind of storage does; the pool (pool.ts) does everything common around it:
// names, containment, refusals of unsupported requests, sizes, quotas.

export interface PoolTarget {
  pool: string;
  config: PoolConfig;
}

export interface VolumeTarget extends PoolTarget {
  name: string;
  path: string;
}

/** A volume as a plugin measures it, in bytes. */
export interface Measured {
  name: string;
  path: string;
  format: ImageFormat | null;
  capacityBytes: number;
  allocationBytes: number;
  backing: string | null;
}

/** What the pool has settled before a plugin creates: the final size and what to copy or clone. */
export interface CreatePlan {
  /** The size the volume will have (MiB; 0 for a directory): what limits are checked against. */
  capacityMb: number;
  /** The size to give the tool, or undefined when the clone or copy keeps its image's size. */
  sizeMb: number | undefined;
  /** Whether sizeMb is larger than the source or backing image (the copy must then grow). */
  grows: boolean;
  backing?: { path: string; format: ImageFormat };
  source?: { path: string; format: ImageFormat };
}

export interface StoragePlugin {
  type: StoragePluginType;
  attach: VolumeAttach;
  supports: { size: boolean; backing: boolean; source: boolean; resize: boolean };
  /** Throws INPUT_INVALID unless `name` can name a volume of this kind. */
  validateName(name: string): string;
  pathOf(target: PoolTarget, name: string): string;
  /**
   * Creates it; CONFLICT when it exists (atomically: two racing creates cannot both win).
   * Returns it measured where it was made (the pool directory held open: its path may
   * name another directory by the time anyone looks again).
   */
  create(target: VolumeTarget, plan: CreatePlan, ctx: StorageOpContext): Promise<Measured>;
  delete(target: VolumeTarget, ctx: StorageOpContext): Promise<boolean>;
  resize(target: VolumeTarget, current: Measured, sizeMb: number, shrink: boolean, ctx: StorageOpContext): Promise<void>;
  measure(target: VolumeTarget, ctx: StorageOpContext): Promise<Measured | undefined>;
  list(target: PoolTarget, ctx: StorageOpContext): Promise<Measured[]>;
  activate(target: VolumeTarget, ctx: StorageOpContext): Promise<void>;
  deactivate(target: VolumeTarget, ctx: StorageOpContext): Promise<void>;
}

export const MIB = 1024 * 1024;
