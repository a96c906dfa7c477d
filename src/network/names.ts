import { HvError } from '../core/errors.js';

// Network and bridge names reach virsh, `ip` and XML: only a conservative alphabet passes,
// so none can be read as an option, a path or a second command.

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1). */
const INTERFACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

export function assertNetworkName(name: string): string {
  if (!NAME.test(name)) throw new HvError('INPUT_INVALID', `'${name}' is not a valid network name`, { input: 'network' });
  return name;
}

export function assertBridgeName(name: string): string {
  if (!INTERFACE.test(name) || name === '.' || name === '..') {
    throw new HvError('INPUT_INVALID', `'${name}' is not a valid bridge name`, { input: 'bridge' });
  }
  return name;
}
