import type { ActionHandler } from '../contract.js';
import { deleteNetwork as deleteOperation } from '../../network/network-state.js';
import { networkName } from './common.js';

export const deleteNetwork: ActionHandler = async (context) => {
  const name = networkName(context);
  const { changed, usedBy } = await deleteOperation(context.config, name, context.inputs.force === true, context);
  return { name, changed, used_by: usedBy };
};
