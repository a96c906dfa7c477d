import type { ActionHandler } from '../contract.js';
import type { StoragePluginType } from '../../config/schema.js';
import { createPool, deletePool as deleteOperation, listPools } from '../../storage/index.js';

export const list: ActionHandler = async ({ config }) => {
  const pools = listPools(config);
  return { pools, names: pools.map((pool) => pool.name), count: pools.length };
};

export const create: ActionHandler = async (context) => {
  const { inputs } = context;
  const number = (input: string) => (inputs[input] === undefined ? undefined : Number(inputs[input]));
  const request = {
    name: String(inputs.name),
    plugin: String(inputs.plugin) as StoragePluginType,
    ...(inputs.path !== undefined && { path: String(inputs.path) }),
    ...(inputs.volume_group !== undefined && { volumeGroup: String(inputs.volume_group) }),
    ...(number('max_volume_mb') !== undefined && { maxVolumeMb: number('max_volume_mb') }),
    ...(number('max_total_mb') !== undefined && { maxTotalMb: number('max_total_mb') }),
  };
  const { pool, changed, libvirt } = await createPool(context.config, request, context);
  return { name: pool.name, changed, pool, libvirt_pool: libvirt.libvirt_pool, libvirt_error: libvirt.error ?? null };
};

export const deletePool: ActionHandler = async (context) => {
  const name = String(context.inputs.name);
  const { changed, removedDirectory } = await deleteOperation(context.config, name, context);
  return { name, changed, removed_directory: removedDirectory };
};
