import { HvError } from '../core/errors.js';

// A volume name is one path segment (file, directory or logical volume name), so it can
// never name anything outside its pool. VM volumes are `<vm>-root`, `<vm>-data1`… with
// VM names of up to 63 characters.

export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$/;

export function validateVolumeName(name: string, input = 'name'): string {
  if (typeof name !== 'string' || !VOLUME_NAME.test(name) || name.includes('..')) {
    throw new HvError(
      'INPUT_INVALID',
      `Input '${input}': ${JSON.stringify(String(name).slice(0, 120))} is not a volume name (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 96 characters, no '..')`,
      { input },
    );
  }
  return name;
}

// lvcreate refuses these names and substrings (lvm(8), "VALID NAMES"): refused here first,
// with a message that says why, instead of an lvcreate failure.
const LVM_RESERVED_NAMES = new Set(['snapshot', 'pvmove']);
const LVM_RESERVED_PARTS = ['_cdata', '_cmeta', '_corig', '_cpool', '_cvol', '_iorig', '_mimage', '_mlog', '_pmspare', '_rimage', '_rmeta', '_tdata', '_tmeta', '_vorigin', '_vdata'];

export function validateLvName(name: string, input = 'name'): string {
  validateVolumeName(name, input);
  const part = LVM_RESERVED_PARTS.find((reserved) => name.includes(reserved));
  if (LVM_RESERVED_NAMES.has(name) || name.startsWith('snapshot') || name.startsWith('pvmove') || part) {
    throw new HvError('INPUT_INVALID', `Input '${input}': '${name}' is reserved by LVM${part ? ` (contains '${part}')` : ''}`, { input });
  }
  return name;
}
