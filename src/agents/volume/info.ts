import type { ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import { volumeUsage } from '../../storage/index.js';
import { opContext, poolOf, usersOf, volumeName, volumeReply } from './common.js';

export const info: ActionHandler = async (context) => {
  const pool = poolOf(context);
  const name = volumeName(context);
  const [found, usage] = await Promise.all([pool.info(name, opContext(context)), volumeUsage(context.config, context.signal)]);
  if (!found) throw new HvError('NOT_FOUND', `No volume '${name}' in pool '${pool.name}'`, { pool: pool.name, name });
  return volumeReply(found, usersOf(usage, found.path));
};
