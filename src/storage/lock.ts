import type { HvConfig } from '../config/schema.js';
import { lockKey, withLock } from '../files/locks.js';
import { validateVolumeName } from './names.js';
import { withSharedVolumeLocks } from './shared.js';

// Lock order, everywhere: the VM's lock first, then its volumes' locks (the host's, then a
// shared pool's own), then (briefly, inside a create or resize) the pool's quota lock.
// Never the reverse.

/** One mutating operation per volume at a time, across processes (and across hosts for a shared pool). */
export function withVolumeLock<T>(config: HvConfig, deadline: number, pool: string, name: string, work: () => Promise<T>): Promise<T> {
  return withLock(lockKey.volume(pool, validateVolumeName(name)), { directory: config.paths.lock_dir, deadline }, () =>
    withSharedVolumeLocks(config, deadline, [{ pool, name }], work),
  );
}
