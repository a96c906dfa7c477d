import type { ActionHandler } from '../contract.js';
import { deleteVolume as deleteOperation } from '../../storage/index.js';
import { poolName, volumeName } from './common.js';

export const deleteVolume: ActionHandler = async (context) => {
  const pool = poolName(context);
  const name = volumeName(context);
  const { changed, usedBy } = await deleteOperation(context.config, pool, name, context.inputs.force === true, context);
  return { pool, name, changed, used_by: usedBy };
};
