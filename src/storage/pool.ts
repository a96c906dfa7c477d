import { existsSync } from 'node:fs';
import { poolDropinFile } from '../config/pool-dropins.js';
import type { HvConfig, PoolConfig } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import { lockKey, withLock } from '../files/locks.js';
import { imageVirtualSize } from './plugins/image-file.js';
import { PLUGINS } from './plugins/index.js';
import { lockDirectoryOf } from './shared.js';
import { MIB, type CreatePlan, type Measured, type StoragePlugin, type VolumeTarget } from './plugins/plugin.js';
import type { CreateVolumeRequest, Pool, StorageOpContext, Volume, VolumeInfo } from './types.js';
import { compareText } from '../core/text-order.js';

// A named pool from the configuration: the checks every plugin shares (names, what the
// plugin supports, sizes, limits) around the plugin's own work.

const QUOTA_LOCK_WAIT_MS = 60_000;

export function openPool(config: HvConfig, name: string): Pool {
  const poolConfig = Object.hasOwn(config.storage.pools, name) ? config.storage.pools[name] : undefined;
  if (!poolConfig) {
    const known = Object.keys(config.storage.pools).sort();
    throw new HvError('NOT_FOUND', `No storage pool named '${name}' (configured: ${known.join(', ') || 'none'})`, { pool: name, pools: known });
  }
  return new ConfiguredPool(config, name, poolConfig);
}

class ConfiguredPool implements Pool {
  readonly plugin;
  readonly attach;
  readonly #impl: StoragePlugin;

  constructor(
    readonly hvConfig: HvConfig,
    readonly name: string,
    readonly config: PoolConfig,
  ) {
    this.#impl = PLUGINS[config.plugin];
    this.plugin = config.plugin;
    this.attach = this.#impl.attach;
  }

  pathOf(name: string): string {
    return this.#impl.pathOf(this.#pool(), this.#impl.validateName(name));
  }

  async create(request: CreateVolumeRequest, ctx: StorageOpContext): Promise<VolumeInfo> {
    const target = this.#target(request.name);
    const plan = await this.#plan(request);
    const make = async (): Promise<Measured> => {
      if (await this.#impl.measure(target, ctx)) {
        throw new HvError('CONFLICT', `Volume '${target.name}' already exists in pool '${this.name}' (delete it first, or choose another name)`, {
          pool: this.name,
          name: target.name,
        });
      }
      if (this.config.max_total_mb !== undefined) await this.#checkTotal(plan.capacityMb, ctx);
      // The name is free and the caller holds its lock: from here on, a volume of this name
      // is this request's own, and its undo is recorded before anything is made.
      request.beforeMake?.();
      return this.#impl.create(target, plan, ctx);
    };
    return this.#info(await this.#whileInUse(ctx, () => this.#underQuotaLock(ctx, make)));
  }

  async delete(name: string, ctx: StorageOpContext): Promise<boolean> {
    return this.#impl.delete(this.#target(name), ctx);
  }

  async resize(name: string, sizeMb: number, options: { shrink: boolean }, ctx: StorageOpContext): Promise<VolumeInfo> {
    const target = this.#target(name);
    if (!this.#impl.supports.resize) throw new HvError('UNSUPPORTED', `Volumes of ${this.plugin} pool '${this.name}' cannot be resized`, { pool: this.name });
    this.#checkVolumeLimit(sizeMb);
    await this.#underQuotaLock(ctx, async () => {
      const current = await this.#mustMeasure(target, ctx);
      const currentMb = Math.ceil(current.capacityBytes / MIB);
      if (sizeMb < currentMb && !options.shrink) {
        throw new HvError('INPUT_INVALID', `Volume '${name}' is ${currentMb} MiB: shrinking it to ${sizeMb} MiB destroys data beyond the new end; ask with shrink=true`, {
          pool: this.name,
          name,
        });
      }
      if (this.config.max_total_mb !== undefined && sizeMb > currentMb) await this.#checkTotal(sizeMb - currentMb, ctx);
      if (sizeMb * MIB !== current.capacityBytes) await this.#impl.resize(target, current, sizeMb, options.shrink, ctx);
    });
    return this.#info(await this.#mustMeasure(target, ctx));
  }

  async info(name: string, ctx: StorageOpContext): Promise<VolumeInfo | undefined> {
    const measured = await this.#impl.measure(this.#target(name), ctx);
    return measured && this.#info(measured);
  }

  async list(ctx: StorageOpContext): Promise<VolumeInfo[]> {
    return (await this.#impl.list(this.#pool(), ctx)).map((measured) => this.#info(measured)).sort((a, b) => compareText(a.name, b.name));
  }

  activate(name: string, ctx: StorageOpContext): Promise<void> {
    return this.#impl.activate(this.#target(name), ctx);
  }

  deactivate(name: string, ctx: StorageOpContext): Promise<void> {
    return this.#impl.deactivate(this.#target(name), ctx);
  }

  #pool() {
    return { pool: this.name, config: this.config };
  }

  #target(name: string): VolumeTarget {
    const valid = this.#impl.validateName(name);
    return { ...this.#pool(), name: valid, path: this.#impl.pathOf(this.#pool(), valid) };
  }

  /** The final size and the image to clone or copy, refusing what the plugin cannot do. */
  async #plan(request: CreateVolumeRequest): Promise<CreatePlan> {
    const { supports } = this.#impl;
    const refuse = (what: string) => new HvError('UNSUPPORTED', `${this.plugin} pool '${this.name}' cannot ${what}`, { pool: this.name, plugin: this.plugin });
    if (request.backing && !supports.backing) throw refuse('make thin clones (backing files are a qcow2 feature)');
    if (request.source && !supports.source) throw refuse('copy an image into a volume');
    if (request.sizeMb !== undefined && !supports.size) throw refuse('give a volume a size (a directory has none)');
    if (request.backing && request.source) throw new HvError('INPUT_INVALID', 'A volume is either a thin clone (backing) or a copy (source), not both');
    if (!supports.size) return { capacityMb: 0, sizeMb: undefined, grows: false };

    const image = request.backing ?? request.source;
    const imageMb = image ? Math.ceil((await imageVirtualSize(image.path, image.format)) / MIB) : undefined;
    if (imageMb === undefined && request.sizeMb === undefined) {
      throw new HvError('INPUT_REQUIRED', `A new volume of pool '${this.name}' needs a size`, { pool: this.name });
    }
    if (imageMb !== undefined && request.sizeMb !== undefined && request.sizeMb < imageMb) {
      throw new HvError('INPUT_INVALID', `size ${request.sizeMb} MiB is smaller than the image ${image!.path} (${imageMb} MiB)`, { pool: this.name });
    }
    const sizeMb = Math.max(request.sizeMb ?? 0, imageMb ?? 0);
    this.#checkVolumeLimit(sizeMb);
    const grows = imageMb !== undefined && sizeMb > imageMb;
    // The plugin is told the size only when it is not the image's own (a clone then keeps it exactly).
    const plan: CreatePlan = { capacityMb: sizeMb, sizeMb: imageMb !== undefined && !grows && this.plugin !== 'lvm' ? undefined : sizeMb, grows };
    if (request.backing) plan.backing = request.backing;
    if (request.source) plan.source = request.source;
    return plan;
  }

  #checkVolumeLimit(sizeMb: number): void {
    const limit = this.config.max_volume_mb;
    if (limit !== undefined && sizeMb > limit) {
      throw new HvError('QUOTA_EXCEEDED', `${sizeMb} MiB is more than pool '${this.name}' allows for one volume (max_volume_mb ${limit})`, {
        pool: this.name,
        max_volume_mb: limit,
      });
    }
  }

  async #checkTotal(addMb: number, ctx: StorageOpContext): Promise<void> {
    const limit = this.config.max_total_mb!;
    const usedMb = Math.ceil((await this.#impl.list(this.#pool(), ctx)).reduce((sum, volume) => sum + volume.capacityBytes, 0) / MIB);
    if (usedMb + addMb > limit) {
      throw new HvError('QUOTA_EXCEEDED', `Pool '${this.name}' holds ${usedMb} MiB of volumes; ${addMb} MiB more would pass its max_total_mb of ${limit}`, {
        pool: this.name,
        used_mb: usedMb,
        max_total_mb: limit,
      });
    }
  }

  /**
   * A pool the API made can be deleted by another request meanwhile: a volume is made in
   * it under its use lock, shared by every creation and held exclusively by `pool delete`,
   * so the pool cannot go while a volume is being made in it, nor a volume appear in a
   * pool that has gone.
   */
  #whileInUse<T>(ctx: StorageOpContext, work: () => Promise<T>): Promise<T> {
    const dropins = this.hvConfig.storage.dropins;
    if (!dropins?.names.includes(this.name)) return work();
    const options = { directory: this.hvConfig.paths.lock_dir, deadline: ctx.deadline ?? Date.now() + QUOTA_LOCK_WAIT_MS, shared: true };
    return withLock(lockKey.poolUse(this.name), options, async () => {
      if (!existsSync(poolDropinFile(dropins.directory, this.name))) throw new HvError('NOT_FOUND', `Storage pool '${this.name}' has been deleted`, { pool: this.name });
      return work();
    });
  }

  /** A pool with a total limit serialises its changes, so parallel requests cannot overrun it together. */
  #underQuotaLock<T>(ctx: StorageOpContext, work: () => Promise<T>): Promise<T> {
    if (this.config.max_total_mb === undefined) return work();
    return withLock(lockKey.pool(this.name), { directory: lockDirectoryOf(this.hvConfig, this.config), deadline: ctx.deadline ?? Date.now() + QUOTA_LOCK_WAIT_MS }, work);
  }

  async #mustMeasure(target: VolumeTarget, ctx: StorageOpContext): Promise<Measured> {
    const measured = await this.#impl.measure(target, ctx);
    if (!measured) throw new HvError('NOT_FOUND', `No volume '${target.name}' in pool '${this.name}'`, { pool: this.name, name: target.name });
    return measured;
  }

  #volume(target: { name: string; path: string }, format: Volume['format']): Volume {
    return { pool: this.name, name: target.name, plugin: this.plugin, path: target.path, attach: this.attach, format };
  }

  #info(measured: Measured): VolumeInfo {
    return {
      ...this.#volume(measured, measured.format),
      capacity_mb: Math.ceil(measured.capacityBytes / MIB),
      allocation_mb: Math.ceil(measured.allocationBytes / MIB),
      backing: measured.backing,
    };
  }
}
