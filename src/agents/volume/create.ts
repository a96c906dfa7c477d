import type { ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import type { CreateVolumeRequest, ImageFormat } from '../../storage/index.js';
import { resolveAllowedPath } from '../../files/containment.js';
import { opContext, underVolumeLock, volumeReply } from './common.js';

export const create: ActionHandler = (context) =>
  underVolumeLock(context, async (pool, name) => {
    const { inputs, config } = context;
    const request: CreateVolumeRequest = { name };
    if (inputs.size_mb !== undefined) request.sizeMb = Number(inputs.size_mb);
    const format = String(inputs.image_format) as ImageFormat;
    for (const input of ['backing', 'source'] as const) {
      if (inputs[input] !== undefined) request[input] = { path: resolveAllowedPath(input, String(inputs[input]), 'file', config.paths.images), format };
    }
    await pool.create(request, opContext(context));
    const made = await pool.info(name, opContext(context));
    if (!made) throw new HvError('INTERNAL', `Volume '${name}' vanished right after it was created in pool '${pool.name}'`);
    return { ...volumeReply(made, []), changed: true };
  });
