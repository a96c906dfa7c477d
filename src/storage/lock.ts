import type { HvConfig } from '../config/schema.js';
import { lockKey, withLock } from '../files/locks.js';
import { validateVolumeName } from './names.js';

// Lock order, everywhere: the VM's lock first, then its volumes' locks, then (briefly,
// inside a create or resize) the pool's quota lock. Never the reverse.

/** One mutating operation per volume at a time, across processes. */
export function withVolumeLock<T>(config: HvConfig, deadline: number, pool: string, name: string, work: () => Promise<T>): Promise<T> {
  return withLock(lockKey.volume(pool, validateVolumeName(name)), { directory: config.paths.lock_dir, deadline }, work);
}
