import type { ActionHandler } from '../contract.js';
import { createVolume, type ImageFormat } from '../../storage/index.js';
import { poolName, volumeName, volumeReply } from './common.js';

export const create: ActionHandler = async (context) => {
  const { inputs } = context;
  const volume = {
    imageFormat: String(inputs.image_format) as ImageFormat,
    ...(inputs.size_mb !== undefined && { sizeMb: Number(inputs.size_mb) }),
    ...(inputs.backing !== undefined && { backing: String(inputs.backing) }),
    ...(inputs.source !== undefined && { source: String(inputs.source) }),
  };
  const made = await createVolume(context.config, poolName(context), volumeName(context), volume, context);
  return { ...volumeReply(made), changed: true };
};
