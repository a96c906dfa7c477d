import type { ActionHandler } from '../contract.js';
import { resizeVolume } from '../../storage/index.js';
import { poolName, volumeName, volumeReply } from './common.js';

export const resize: ActionHandler = async (context) => {
  const after = await resizeVolume(context.config, poolName(context), volumeName(context), Number(context.inputs.size_mb), context.inputs.shrink === true, context);
  return { ...volumeReply(after), changed: after.changed };
};
