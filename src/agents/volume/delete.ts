import type { ActionHandler } from '../contract.js';
import { HvError } from '../../core/errors.js';
import { volumeUsage } from '../../storage/index.js';
import { opContext, underVolumeLock, usersOf } from './common.js';

// A defined VM keeps a volume unless the caller forces it; a running (or paused) one
// keeps it always: its QEMU or container has it open.
export const deleteVolume: ActionHandler = (context) =>
  underVolumeLock(context, async (pool, name) => {
    const found = await pool.info(name, opContext(context));
    if (!found) return { pool: pool.name, name, changed: false, used_by: [] };
    const users = usersOf(await volumeUsage(context.config, context.signal), found.path);
    const usedBy = users.map((user) => user.vm).sort();
    const active = users.filter((user) => user.state !== 'shutoff').map((user) => user.vm);
    if (active.length > 0) {
      throw new HvError('CONFLICT', `Volume '${name}' is in use by ${active.join(', ')}, which ${active.length === 1 ? 'is' : 'are'} not shut off: stop ${active.length === 1 ? 'it' : 'them'} first (force does not override this)`, {
        pool: pool.name,
        name,
        used_by: active,
      });
    }
    if (usedBy.length > 0 && context.inputs.force !== true) {
      throw new HvError('CONFLICT', `Volume '${name}' is used by the defined VM${usedBy.length === 1 ? '' : 's'} ${usedBy.join(', ')}: delete with force=true to remove it anyway`, {
        pool: pool.name,
        name,
        used_by: usedBy,
      });
    }
    const changed = await pool.delete(name, opContext(context));
    return { pool: pool.name, name, changed, used_by: usedBy };
  });
