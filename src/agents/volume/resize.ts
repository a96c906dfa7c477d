import type { ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import { volumeUsage } from '../../storage/index.js';
import { opContext, underVolumeLock, usersOf, volumeReply } from './common.js';

export const resize: ActionHandler = (context) =>
  underVolumeLock(context, async (pool, name) => {
    const before = await pool.info(name, opContext(context));
    if (!before) throw new HvError('NOT_FOUND', `No volume '${name}' in pool '${pool.name}'`, { pool: pool.name, name });
    const after = await pool.resize(name, Number(context.inputs.size_mb), { shrink: context.inputs.shrink === true }, opContext(context));
    const usage = await volumeUsage(context.config, context.signal);
    return { ...volumeReply(after, usersOf(usage, after.path)), changed: after.capacity_mb !== before.capacity_mb };
  });
