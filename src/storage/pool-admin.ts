import { rmdirSync } from 'node:fs';
import { readPoolDropins, poolDropinFile, removePoolDropin, writePoolDropin } from '../config/pool-dropins.js';
import type { HvConfig, PoolConfig, StoragePluginType } from '../config/schema.js';
import { HvError } from '../core/errors.js';
import type { OperationContext } from '../core/operation.js';
import { failAfterForTests } from '../core/test-failure.js';
import { isInside, resolveNewDirectory } from '../files/containment.js';
import { Intent } from '../files/intents.js';
import { lockKey, withLock } from '../files/locks.js';
import { firstMissing, makeDirectories, removeMadeDirectories } from '../files/made-directories.js';
import { Rollback, withRollback } from '../files/rollback.js';
import { ToolError } from '../process/failure.js';
import { runProcess } from '../process/run.js';
import { forgetLibvirtPool, libvirtPoolName, removeLibvirtPool, syncLibvirtPool, type SyncResult } from './libvirt-pool.js';
import { openPool } from './pool.js';
import { canonicalPath } from './users.js';
import { compareText } from '../core/text-order.js';

// Pools through the API: `pool create` writes a drop-in file (pools.d/<name>.yaml beside
// hvagent.yaml) and makes the pool's directory, `pool delete` removes both, each under
// one lock for all drop-ins, after every check that can refuse the request. Pools named
// in hvagent.yaml are the operator's and stay read-only. The files are re-read under the
// lock: another process may have changed them since this one loaded its configuration.

export interface PoolCreateRequest {
  readonly name: string;
  readonly plugin: StoragePluginType;
  /** The directory (dir, raw, qcow2), inside paths.images. */
  readonly path?: string;
  /** The volume group (lvm), which must exist. */
  readonly volumeGroup?: string;
  readonly maxVolumeMb?: number;
  readonly maxTotalMb?: number;
}

export interface PoolView {
  readonly name: string;
  readonly plugin: StoragePluginType;
  readonly path: string | null;
  readonly volume_group: string | null;
  readonly max_volume_mb: number | null;
  readonly max_total_mb: number | null;
  /** config: named in hvagent.yaml (read-only to the API); api: made by `pool create`. */
  readonly managed_by: 'config' | 'api';
  /** The drop-in file of a pool the API made. */
  readonly file: string | null;
}

const POOL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

function dropinDirectory(config: HvConfig): string {
  const directory = config.storage.dropins?.directory;
  if (!directory) throw new HvError('CONFIG_INVALID', 'The configuration names no pool drop-in directory (pools.d beside hvagent.yaml)');
  return directory;
}

export function poolView(config: HvConfig, name: string, pool: PoolConfig): PoolView {
  const api = config.storage.dropins?.names.includes(name) ?? false;
  return {
    name,
    plugin: pool.plugin,
    path: pool.path ?? null,
    volume_group: pool.volume_group ?? null,
    max_volume_mb: pool.max_volume_mb ?? null,
    max_total_mb: pool.max_total_mb ?? null,
    managed_by: api ? 'api' : 'config',
    file: api ? poolDropinFile(dropinDirectory(config), name) : null,
  };
}

export function listPools(config: HvConfig): PoolView[] {
  return Object.entries(config.storage.pools)
    .map(([name, pool]) => poolView(config, name, pool))
    .sort((a, b) => compareText(a.name, b.name));
}

/** The configuration with the drop-ins as they are on disk now (another process may have changed them). */
async function freshConfig(config: HvConfig): Promise<HvConfig> {
  const directory = dropinDirectory(config);
  const dropins = await readPoolDropins(directory);
  const own = Object.fromEntries(Object.entries(config.storage.pools).filter(([name]) => !config.storage.dropins?.names.includes(name)));
  return { ...config, storage: { pools: { ...own, ...dropins }, dropins: { directory, names: Object.keys(dropins).sort() } } };
}

export interface PoolCreated {
  readonly pool: PoolView;
  readonly changed: boolean;
  readonly libvirt: SyncResult;
}

export function createPool(config: HvConfig, request: PoolCreateRequest, ctx: OperationContext): Promise<PoolCreated> {
  const wanted = poolConfigOf(request);
  return withLock(lockKey.poolDefinitions(), { directory: config.paths.lock_dir, deadline: ctx.deadline }, async () => {
    const fresh = await freshConfig(config);
    const existing = Object.hasOwn(fresh.storage.pools, request.name) ? fresh.storage.pools[request.name] : undefined;
    if (existing) {
      if (!fresh.storage.dropins!.names.includes(request.name)) throw readOnly(request.name, 'create');
      const differences = poolDifferences(existing, wanted);
      if (differences.length > 0) throw new HvError('CONFLICT', `Pool '${request.name}' already exists and differs: ${differences.join('; ')}`, { pool: request.name, differences });
      return { pool: poolView(fresh, request.name, existing), changed: false, libvirt: await syncLibvirtPool(fresh, request.name, ctx.signal) };
    }
    // Each step's undo is registered (and journalled) before it begins: a create that fails
    // or is cancelled takes back what it made, one killed meanwhile the next request does.
    // The journal entry ends once libvirt's mirror is made too, just before the reply.
    const rollback = new Rollback(Intent.begin(config.paths.lock_dir, [lockKey.poolDefinitions()], `pool create ${request.name}`));
    return withRollback(rollback, async () => {
      const pool = wanted.plugin === 'lvm' ? await checkVolumeGroup(fresh, wanted, ctx.signal) : placeDirectory(fresh, wanted, rollback);
      const directory = dropinDirectory(fresh);
      const file = poolDropinFile(directory, request.name);
      rollback.made(`pool file ${file}`, async () => removePoolDropin(directory, request.name), { kind: 'file', path: file });
      await writePoolDropin(directory, request.name, pool);
      failAfterForTests('pool-create');
      const after = await freshConfig(fresh);
      if (pool.plugin !== 'lvm') {
        const uri = config.libvirt.uri;
        const mirror = libvirtPoolName(request.name);
        rollback.made(`libvirt pool ${mirror}`, () => removeLibvirtPool(uri, mirror), { kind: 'libvirt-pool', uri, name: mirror });
      }
      return { pool: poolView(after, request.name, pool), changed: true, libvirt: await syncLibvirtPool(after, request.name, ctx.signal) };
    });
  });
}

export interface PoolDeleted {
  readonly changed: boolean;
  /** Whether its (empty) directory was removed too; false when other files remain in it, or for lvm. */
  readonly removedDirectory: boolean;
}

/** Removes a pool the API made, once it holds no volumes; one that is not there is no change. */
export function deletePool(config: HvConfig, name: string, ctx: OperationContext): Promise<PoolDeleted> {
  assertPoolName(name);
  const options = { directory: config.paths.lock_dir, deadline: ctx.deadline };
  return withLock(lockKey.poolDefinitions(), options, async () => {
    const fresh = await freshConfig(config);
    if (!Object.hasOwn(fresh.storage.pools, name)) return { changed: false, removedDirectory: false };
    if (!fresh.storage.dropins!.names.includes(name)) throw readOnly(name, 'delete');
    // Exclusive against every volume creation in the pool (they hold it shared, pool.ts).
    return withLock(lockKey.poolUse(name), options, async () => {
      const pool = openPool(fresh, name);
      const volumes = await pool.list({ signal: ctx.signal });
      if (volumes.length > 0) {
        const names = volumes.map((volume) => volume.name);
        throw new HvError('CONFLICT', `Pool '${name}' holds ${names.length} volume${names.length === 1 ? '' : 's'} (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}): delete them first`, {
          pool: name,
          volumes: names,
        });
      }
      if (pool.plugin !== 'lvm') await forgetLibvirtPool(fresh, name).catch(() => undefined);
      removePoolDropin(dropinDirectory(fresh), name);
      return { changed: true, removedDirectory: pool.config.path !== undefined && removeIfEmpty(pool.config.path) };
    });
  });
}

export function assertPoolName(name: string, input = 'name'): string {
  if (!POOL_NAME.test(name)) {
    throw new HvError('INPUT_INVALID', `Input '${input}': '${name}' is not a pool name (lowercase letters, digits, '_' and '-', starting with a letter, at most 32)`, { input });
  }
  return name;
}

function poolConfigOf(request: PoolCreateRequest): PoolConfig {
  assertPoolName(request.name);
  const lvm = request.plugin === 'lvm';
  const [needed, refused] = lvm ? (['volume_group', 'path'] as const) : (['path', 'volume_group'] as const);
  const given = { path: request.path, volume_group: request.volumeGroup };
  if (given[needed] === undefined) throw new HvError('INPUT_REQUIRED', `Input '${needed}': a ${request.plugin} pool needs one`, { input: needed });
  if (given[refused] !== undefined) throw new HvError('INPUT_INVALID', `Input '${refused}': a ${request.plugin} pool has ${lvm ? 'a volume group, not a directory' : 'a directory, not a volume group'}`, { input: refused });
  if (lvm && !/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,127}$/.test(request.volumeGroup!)) {
    throw new HvError('INPUT_INVALID', `Input 'volume_group': '${request.volumeGroup}' is not a volume group name`, { input: 'volume_group' });
  }
  if (request.maxVolumeMb !== undefined && request.maxTotalMb !== undefined && request.maxVolumeMb > request.maxTotalMb) {
    throw new HvError('INPUT_INVALID', `Input 'max_volume_mb': ${request.maxVolumeMb} MiB is more than max_total_mb (${request.maxTotalMb} MiB)`, { input: 'max_volume_mb' });
  }
  return {
    plugin: request.plugin,
    ...(lvm ? { volume_group: request.volumeGroup! } : { path: request.path! }),
    ...(request.maxVolumeMb !== undefined && { max_volume_mb: request.maxVolumeMb }),
    ...(request.maxTotalMb !== undefined && { max_total_mb: request.maxTotalMb }),
  };
}

function poolDifferences(existing: PoolConfig, wanted: PoolConfig): string[] {
  const keys = ['plugin', 'path', 'volume_group', 'max_volume_mb', 'max_total_mb'] as const;
  return keys.flatMap((key) => (existing[key] === wanted[key] ? [] : [`${key} ${existing[key] ?? 'none'} (asked: ${wanted[key] ?? 'none'})`]));
}

function readOnly(name: string, verb: string): HvError {
  return new HvError('CONFLICT', `Pool '${name}' is configured in hvagent.yaml: it is read-only to the API (cannot ${verb} it); change hvagent.yaml instead`, { pool: name });
}

/**
 * A directory pool's place: inside paths.images, never the same as, inside, or around
 * another pool's directory (each would list the other's volumes as its own) or one of
 * hvagent's own directories. Made when missing, its undo registered first.
 */
function placeDirectory(config: HvConfig, wanted: PoolConfig, rollback: Rollback): PoolConfig {
  const { path, exists } = resolveNewDirectory('path', wanted.path!, config.paths.images);
  const overlaps = (other: string) => isInside(other, path) || isInside(path, other);
  for (const [other, pool] of Object.entries(config.storage.pools)) {
    if (pool.path !== undefined && overlaps(canonicalPath(pool.path))) {
      throw new HvError('CONFLICT', `Input 'path': ${path} overlaps the directory of pool '${other}' (${pool.path})`, { input: 'path', pool: other });
    }
  }
  const own = { 'templates.catalogue': config.templates.catalogue, 'paths.lock_dir': config.paths.lock_dir, 'paths.jobs_dir': config.paths.jobs_dir, 'paths.console_log_dir': config.paths.console_log_dir };
  for (const [setting, directory] of Object.entries(own)) {
    if (overlaps(canonicalPath(directory))) throw new HvError('CONFLICT', `Input 'path': ${path} overlaps hvagent's ${setting} (${directory})`, { input: 'path' });
  }
  const outermost = exists ? undefined : firstMissing(path);
  if (outermost) {
    rollback.made(`directory ${outermost}`, async () => removeMadeDirectories(path, outermost), { kind: 'made-directories', path, outermost });
    makeDirectories(path);
  }
  return { ...wanted, path };
}

/** A volume group's pool: the group must exist, and no other pool may take it (each would list the other's volumes). */
async function checkVolumeGroup(config: HvConfig, wanted: PoolConfig, signal: AbortSignal): Promise<PoolConfig> {
  const group = wanted.volume_group!;
  const other = Object.entries(config.storage.pools).find(([, pool]) => pool.volume_group === group);
  if (other) throw new HvError('CONFLICT', `Input 'volume_group': volume group ${group} is already pool '${other[0]}'`, { input: 'volume_group', pool: other[0] });
  try {
    await runProcess('vgs', ['--noheadings', '-o', 'vg_name', group], { signal, timeoutMs: 20_000 });
  } catch (error) {
    if (!(error instanceof ToolError) || error.cancelled) throw error;
    if (error.notInstalled) throw new HvError('UNSUPPORTED', 'lvm pools need lvm2 (vgs is not installed on this host)', { input: 'plugin' });
    if (/not found/i.test(error.stderr)) throw new HvError('NOT_FOUND', `Input 'volume_group': no volume group ${group} on this host`, { input: 'volume_group' });
    throw new HvError('COMMAND_FAILED', `Cannot read volume group ${group}: ${error.stderr || error.message}`, error.details, { cause: error });
  }
  return wanted;
}

/** rmdir(2): only an empty directory goes. */
function removeIfEmpty(path: string): boolean {
  try {
    rmdirSync(path);
    return true;
  } catch {
    return false;
  }
}
