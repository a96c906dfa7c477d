import type { ActionHandler } from '../contract.js';
import { openPool, volumeUsage } from '../../storage/index.js';
import { opContext, usersOf, volumeReply } from './common.js';

export const list: ActionHandler = async (context) => {
  const { config, inputs, signal } = context;
  const names = inputs.pool === undefined ? Object.keys(config.storage.pools).sort() : [String(inputs.pool)];
  const pools = names.map((name) => openPool(config, name));
  const [usage, ...perPool] = await Promise.all([volumeUsage(config, signal), ...pools.map((pool) => pool.list(opContext(context)))]);
  const volumes = perPool.flat().map((info) => volumeReply(info, usersOf(usage, info.path)));
  return { volumes, count: volumes.length };
};
